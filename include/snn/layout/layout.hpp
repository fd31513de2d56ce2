#pragma once
/// \file
/// Time-layout adapters: mappings for [T, N, F], [N, F, T], [N, T, F] and [T * N, F],
/// non-owning sequence views over them, zero-copy fold/unfold and blocked conversions.

#include "snn/layout/convert.hpp"
#include "snn/layout/mapping.hpp"
#include "snn/layout/sequence_view.hpp"
