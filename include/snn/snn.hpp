#pragma once
/// \file
/// Umbrella header: everything snn offers on the CPU.
///
///   core/     binary16, errors
///   neuron/   policies (charge, fire, reset, surrogate, division, precision) and the per-step
///             math shared by every backend
///   cpu/      fused multi-step kernels (scalar reference and xsimd SIMD, threaded), run-time
///             instruction-set dispatch tables
///   layout/   [T,N,*] <-> [N,*,T] <-> [T*N,*] <-> [N,T,*] adapters
///   io/       .npy read/write (io/netx.hpp, NetX hdf5, is separate: it needs HDF5)
///   emu/lynxi/ Lynxi float16 emulation (BIDL Lif/LIFPlus, SpikingJelly lynxi_exchange, aggregation)
///   emu/lava/ Loihi numerics: lava-dl CUBA, Lava bit-accurate LIF, Dense/Conv, NetX weights
///   synapse/  dense, conv2d, pool2d, flatten, batch norm: forward + backward, time-folded;
///             arguments and weight transforms always, the CPU ops when built with Eigen
///             (SNN_HAS_EIGEN)

#include "snn/config.hpp"
#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"
#include "snn/cpu/dispatch.hpp"
#include "snn/cpu/multistep.hpp"
#include "snn/emu/lynxi/cpu.hpp"
#include "snn/emu/lava/cuba.hpp"
#include "snn/emu/lava/cuba_simd.hpp"
#include "snn/emu/lava/loihi_lif.hpp"
#include "snn/emu/lava/loihi_lif_simd.hpp"
#include "snn/emu/lava/network.hpp"
#include "snn/emu/lava/quantize.hpp"
#include "snn/emu/lava/synapse.hpp"
#include "snn/io/npy.hpp"
#include "snn/layout/layout.hpp"
#include "snn/neuron/neuron.hpp"
#include "snn/neuron/params.hpp"
#include "snn/neuron/policies.hpp"
#include "snn/neuron/precision.hpp"
#include "snn/neuron/surrogate.hpp"

#include "snn/synapse/batch_norm_args.hpp"
#include "snn/synapse/conv2d_args.hpp"
#include "snn/synapse/dense_args.hpp"
#include "snn/synapse/flatten.hpp"
#include "snn/synapse/pool2d_args.hpp"
#include "snn/synapse/weights.hpp"
#if defined(SNN_HAS_EIGEN)
#include "snn/synapse/cpu.hpp"
#endif
