/*
 * version.h - Vantage's version, the one place it is written.  `vantage
 * --version`, the API's health answer and the Prometheus build_info metric
 * all print it.
 */
#ifndef VANTAGE_VERSION_H
#define VANTAGE_VERSION_H

#define VANTAGE_VERSION "0.1.0"

#endif
