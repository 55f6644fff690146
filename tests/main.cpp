// main.cpp: the doctest runner for every suite in tests/ (one binary, built in double).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "doctest/doctest.h"
