#pragma once
// Host-pointer wrappers of the CUDA synapse ops (snn/cuda/synapse.cuh) for the tests: each
// copies the given host buffers to the GPU, runs the op on a fresh stream (and cuBLAS handle),
// synchronises and copies the outputs back. The arguments are the ops' own structs with host
// pointers; null stays null, so argument errors surface as the op's snn::invalid_argument.
// Built with nvcc (synapse_staged.cu) so that the doctest file can stay plain C++ with Eigen.
#include <cstddef>
#include <cstdint>

#include "snn/synapse/batch_norm_args.hpp"
#include "snn/synapse/conv2d_args.hpp"
#include "snn/synapse/dense_args.hpp"
#include "snn/synapse/pool2d_args.hpp"

namespace snn_test {

bool cuda_device_present();

template <class T>
void dense_forward_cuda(const snn::synapse::dense_forward_args<T>& host, bool tf32 = false);
template <class T>
void dense_backward_cuda(const snn::synapse::dense_backward_args<T>& host, bool tf32 = false);
template <class T>
void dense_spike_forward_cuda(const snn::synapse::dense_spike_forward_args<T>& host);
/// snn::cuda::conv2d_workspace_bytes<T>(shape, images_per_chunk).
template <class T>
std::size_t conv2d_workspace_bytes_cuda(const snn::synapse::conv2d_shape& shape, std::int64_t images_per_chunk);
/// The op with a fresh `workspace_bytes`-byte device workspace (null when 0).
template <class T>
void conv2d_forward_cuda(const snn::synapse::conv2d_forward_args<T>& host, std::size_t workspace_bytes, bool tf32 = false);
template <class T>
void conv2d_backward_cuda(const snn::synapse::conv2d_backward_args<T>& host, std::size_t workspace_bytes, bool tf32 = false);
template <class T>
void pool2d_forward_cuda(const snn::synapse::pool2d_forward_args<T>& host);
template <class T>
void pool2d_backward_cuda(const snn::synapse::pool2d_backward_args<T>& host);
template <class T>
void batch_norm_forward_cuda(const snn::synapse::batch_norm_forward_args<T>& host);
template <class T>
void batch_norm_backward_cuda(const snn::synapse::batch_norm_backward_args<T>& host);

}  // namespace snn_test
