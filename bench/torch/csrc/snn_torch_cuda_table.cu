// The CUDA entry table of the snn_torch extension: one entry per (precision, charge), each
// compiled in its own generated unit (see setup.py and SNN_TORCH_CUDA_UNIT).
#include "snn_torch_cuda.cuh"

namespace snn_torch {

#define SNN_TORCH_DECLARE(precision_name)                        \
    cuda_entry cuda_entry_##precision_name##_if_();              \
    cuda_entry cuda_entry_##precision_name##_lif_decay_input();  \
    cuda_entry cuda_entry_##precision_name##_lif();              \
    cuda_entry cuda_entry_##precision_name##_plif_decay_input(); \
    cuda_entry cuda_entry_##precision_name##_plif();
SNN_TORCH_DECLARE(f32)
SNN_TORCH_DECLARE(f16_storage)
#undef SNN_TORCH_DECLARE

namespace {

using snn::cpu::charge_id;
using snn::cpu::precision_id;

struct cuda_table {
    cuda_entry entries[snn::cpu::precision_id_count][snn::cpu::charge_id_count];
};

void fill(cuda_table& table, precision_id precision, const cuda_entry (&row)[snn::cpu::charge_id_count]) {
    for (int c = 0; c < snn::cpu::charge_id_count; ++c) table.entries[static_cast<int>(precision)][c] = row[c];
}

cuda_table make_table() {
    cuda_table table;
    // Row order follows snn::cpu::charge_id: if_, lif_decay_input, lif, plif_decay_input, plif.
    const cuda_entry f32[] = {cuda_entry_f32_if_(), cuda_entry_f32_lif_decay_input(), cuda_entry_f32_lif(),
                              cuda_entry_f32_plif_decay_input(), cuda_entry_f32_plif()};
    const cuda_entry f16[] = {cuda_entry_f16_storage_if_(), cuda_entry_f16_storage_lif_decay_input(), cuda_entry_f16_storage_lif(),
                              cuda_entry_f16_storage_plif_decay_input(), cuda_entry_f16_storage_plif()};
    fill(table, precision_id::f32, f32);
    fill(table, precision_id::f16_storage, f16);
    return table;
}

}  // namespace

const cuda_entry& cuda_entry_for(precision_id precision, charge_id charge) {
    static const cuda_table table = make_table();
    const cuda_entry& entry = table.entries[static_cast<int>(precision)][static_cast<int>(charge)];
    if (entry.forward == nullptr)
        throw snn::invalid_argument("x", "this precision is not compiled into the CUDA part of snn_torch (float32 and float16 are)");
    return entry;
}

}  // namespace snn_torch
