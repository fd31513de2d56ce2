// The CUDA kernels behind snn-golden's and the tests' host-pointer table.
#include <snn/cuda/staged_table_instantiate.cuh>
