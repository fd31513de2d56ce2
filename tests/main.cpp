// The doctest runner for snn_tests: every tests/test_*.cpp adds its TEST_CASEs to it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
