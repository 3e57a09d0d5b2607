/*
 * kafka_mock.c - a Kafka cluster for the tests: librdkafka's mock cluster
 * (real Kafka protocol: produce, fetch, consumer groups, offset commits,
 * the idempotent producer) kept up in this process.
 *
 *   kafka_mock [-n BROKERS] [-t TOPIC -p PARTITIONS]...
 *
 * Prints the bootstrap servers ("127.0.0.1:PORT,...") on one line of
 * stdout, then stays up until SIGTERM/SIGINT.  SIGUSR1 takes every broker
 * down (connections refused, as a broker gone), SIGUSR2 brings them back
 * up; each prints "down" or "up" on stdout.  Topics given with -t are
 * created with -p partitions (the mock has no CreateTopics); others are
 * created on first use with 4.  Nothing persists.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop, want_down, want_up;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		want_down = 1;
	else if (sig == SIGUSR2)
		want_up = 1;
	else
		stop = 1;
}

int main(int argc, char **argv)
{
	int brokers = 1, parts = 4, opt;
	const char *topics[16];
	int tparts[16], ntopics = 0;
	while ((opt = getopt(argc, argv, "n:t:p:")) != -1) {
		if (opt == 'n')
			brokers = atoi(optarg);
		else if (opt == 'p')
			parts = atoi(optarg);
		else if (opt == 't' && ntopics < 16)
			topics[ntopics++] = optarg;
		else {
			fprintf(stderr,
			        "usage: kafka_mock [-n BROKERS] [-p PARTITIONS] [-t TOPIC]...\n");
			return 2;
		}
	}
	for (int i = 0; i < ntopics; i++)
		tparts[i] = parts;
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kafka_mock: %s\n", err);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		return 1;
	}
	for (int i = 0; i < ntopics; i++) {
		rd_kafka_resp_err_t e =
		    rd_kafka_mock_topic_create(mc, topics[i], tparts[i], brokers < 3 ? brokers : 3);
		if (e) {
			fprintf(stderr, "kafka_mock: topic %s: %s\n", topics[i],
			        rd_kafka_err2str(e));
			return 1;
		}
	}
	struct sigaction sa = {.sa_handler = on_sig};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!stop) {
		if (want_down || want_up) {
			int down = want_down;
			want_down = want_up = 0;
			for (int b = 1; b <= brokers; b++) {
				if (down)
					rd_kafka_mock_broker_set_down(mc, b);
				else
					rd_kafka_mock_broker_set_up(mc, b);
			}
			printf("%s\n", down ? "down" : "up");
			fflush(stdout);
		}
		usleep(50000);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
