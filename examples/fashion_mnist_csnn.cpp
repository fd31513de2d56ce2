// snn-example-fashion-mnist-csnn: the library's main demo. Trains SpikingJelly's
// conv_fashion_mnist CSNN with snn's synapse ops and fused IF kernels (forward and BPTT), on
// CUDA when a GPU is there, else on the CPU; then evaluates the trained network under each
// chip's numerics and prints the table.
//
// The float network and its one deliberate difference from the Python example are described
// in csnn/float_csnn.hpp. Options of the run:
// - On the CPU the default width is C = 16 channels (the example uses 128) so that an epoch
//   takes a few minutes on 2 cores; on CUDA the default is the full C = 128.
// - Adam (torch's defaults) with cosine annealing of the learning rate over the epochs (the
//   example's -opt adam, lr 1e-3), written in csnn/common.hpp.
// - Weights start from torch's default init drawn from std::mt19937 with --seed, so numbers
//   match torch's in distribution, not bit for bit.
//
// float16 rows: the trained model evaluated as `model.half()` with SpikingJelly's IFNode on a GPU
// and with lynxi_exchange's IFNode (the Lynxi tutorial's path), emulated bit for bit in the
// neurons on the CPU (csnn/half_eval.hpp says what is exact); --no-half skips them.
//
// Loihi rows: the Lava tutorial's network, trained on the CPU in SpikingJelly's BlockContainer
// numerics and evaluated as Lava runs the NetX file it is exported to (csnn/loihi_variant.hpp);
// --no-loihi skips it.
//
// Saved models: --out DIR writes csnn_manifest.txt plus one float32 .npy per tensor (torch's
// state_dict names and shapes, e.g. conv1.weight.npy [C, 1, 3, 3]); --load DIR reads them back
// (the manifest fixes C; a missing, corrupt or mismatched file stops with an error naming it).
//
// Exit status: 0 success, 1 --check failed (training did not lower the probe loss), 2 bad
// arguments, unreadable or mismatched files, 4 the Fashion-MNIST files are missing.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <new>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "csnn/common.hpp"
#include "csnn/curves.hpp"
#include "csnn/float_csnn.hpp"
#include "csnn/half_eval.hpp"
#include "csnn/loihi_variant.hpp"

#ifdef SNN_EXAMPLE_WITH_CUDA
#include "csnn/cuda_engine.hpp"
#endif

namespace {

using namespace csnn;

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

enum class device_choice { automatic, cpu, cuda };

struct options {
    device_choice device = device_choice::automatic;
    int channels = 0;  // 0: 128 on CUDA, 16 on the CPU
    bool channels_given = false;
    int epochs = -1;   // -1: 1 on the CPU, 30 on CUDA
    int batch = 0;     // 0: 64 on the CPU, 128 on CUDA (the example's -b)
    double lr = 1e-3;
    int train_limit = 0;  // 0: all 60000
    std::uint32_t seed = 2022;
    int threads = 0;
    bool check = false;
    bool tf32 = false;
    bool compare_engines = false;  // --compare-engines: CPU vs CUDA engine check, then exit
    bool half = true;  // --no-half: skip the float16 / Lynxi evaluation
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::string out_dir = ".";
    std::string load_dir;
    loihi::options loihi;  // the Loihi variant's stage (csnn/loihi_variant.hpp)
};

const char* const usage =
    "usage: snn-example-fashion-mnist-csnn [options]\n"
    "  --device D        auto (default: CUDA when a GPU is present), cpu or cuda\n"
    "  --channels C      convolution channels (default 128 on CUDA, 16 on the CPU; SpikingJelly's example uses 128)\n"
    "  --epochs E        training epochs (default 30 on CUDA, 1 on the CPU; 0 with --load: evaluate only)\n"
    "  --batch B         training batch size (default 128 on CUDA, 64 on the CPU)\n"
    "  --lr LR           Adam learning rate, cosine-annealed over the epochs (default 1e-3)\n"
    "  --train-limit K   train on the first K images of the shuffled training set (default: all 60000)\n"
    "  --seed S          initial weights and shuffling (default 2022)\n"
    "  --threads K       CPU worker threads (default: all hardware threads)\n"
    "  --data DIR        Fashion-MNIST gzip IDX files (default /usr/share/datasets/fashion-mnist)\n"
    "  --out DIR         where the curves (csnn_curves.svg) and the model (csnn_manifest.txt + .npy) go (default .)\n"
    "  --load DIR        start from the model saved in DIR instead of random weights\n"
    "  --tf32            CUDA: TF32 tensor-core GEMMs for the convolutions and linear layers (default IEEE float32)\n"
    "  --no-half         skip the float16 / Lynxi float16 evaluation of the trained model (CPU emulation)\n"
    "  --compare-engines run the same batches through the CPU and the CUDA engine and compare (exit 1 on a mismatch)\n"
    "  --check           exit 1 unless training lowered the loss on a fixed probe batch (of each trained network)\n"
    "Loihi variant (the Lava tutorial's network, trained in BlockContainer numerics on the CPU):\n";

options parse_options(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage << loihi::usage;
            std::exit(0);
        }
        if (arg == "--check" || arg == "--tf32") {
            (arg == "--check" ? opt.check : opt.tf32) = true;
            continue;
        }
        if (arg == "--compare-engines") {
            opt.compare_engines = true;
            continue;
        }
        if (arg == "--no-half") {
            opt.half = false;
            continue;
        }
        if (loihi::parse_flag(arg, opt.loihi)) continue;
        if (i + 1 >= argc) throw usage_error("unknown option or missing value: '" + arg + "'\n" + usage + loihi::usage);
        const std::string value = argv[++i];
        if (loihi::parse_option(arg, value, opt.loihi)) continue;
        if (arg == "--channels") opt.channels = static_cast<int>(parse_integer(value, arg, 1, 1024)), opt.channels_given = true;
        else if (arg == "--epochs") opt.epochs = static_cast<int>(parse_integer(value, arg, 0, 100000));
        else if (arg == "--batch") opt.batch = static_cast<int>(parse_integer(value, arg, 2, 60000));
        else if (arg == "--train-limit") opt.train_limit = static_cast<int>(parse_integer(value, arg, 2, 60000));
        else if (arg == "--seed") opt.seed = static_cast<std::uint32_t>(parse_integer(value, arg, 0, 4294967295LL));
        else if (arg == "--threads") opt.threads = static_cast<int>(parse_integer(value, arg, 1, 4096));
        else if (arg == "--data") opt.data_dir = value;
        else if (arg == "--out") opt.out_dir = value;
        else if (arg == "--load") opt.load_dir = value;
        else if (arg == "--device") {
            if (value == "auto") opt.device = device_choice::automatic;
            else if (value == "cpu") opt.device = device_choice::cpu;
            else if (value == "cuda") opt.device = device_choice::cuda;
            else throw usage_error("--device must be auto, cpu or cuda, got '" + value + "'");
        } else if (arg == "--lr") {
            opt.lr = parse_positive(value, arg);
        } else throw usage_error("unknown option '" + arg + "'\n" + usage + loihi::usage);
    }
    if (opt.epochs == 0 && opt.load_dir.empty()) throw usage_error("--epochs 0 only makes sense with --load (evaluate a saved model)");
    return opt;
}

/// The engine the options ask for: CUDA when chosen or (auto) when a GPU is usable.
std::unique_ptr<float_engine> make_engine(const options& opt, model& m, bool& on_gpu) {
    on_gpu = false;
#ifdef SNN_EXAMPLE_WITH_CUDA
    if (opt.device != device_choice::cpu) {
        std::string why_not;
        if (auto engine = make_cuda_engine(m, opt.tf32, why_not)) {
            on_gpu = true;
            return engine;
        }
        if (opt.device == device_choice::cuda) throw usage_error("--device cuda: " + why_not);
        std::cout << "no usable GPU (" << why_not << "): training on the CPU\n";
    }
#else
    if (opt.device == device_choice::cuda) throw usage_error("--device cuda: this program was built without CUDA (configure with nvcc available)");
#endif
    return std::make_unique<cpu_engine>(m, opt.threads);
}

/// Whether a GPU engine would be used, without building one (decides the defaults).
bool gpu_expected(const options& opt) {
#ifdef SNN_EXAMPLE_WITH_CUDA
    return opt.device != device_choice::cpu && cuda_device_available();
#else
    (void)opt;
    return false;
#endif
}

/// --compare-engines: the CPU and CUDA engines on the same model and batches. Evaluation with
/// the initial weights must give the same loss and predictions up to spikes that flip where a
/// membrane is within float32 rounding of the threshold (the GEMMs sum in different orders);
/// a few training steps must give the same loss curve and nearly the same parameters.
int compare_engines(const options& opt, const dataset& train) {
#ifdef SNN_EXAMPLE_WITH_CUDA
    const std::int64_t C = opt.channels_given ? opt.channels : 16, batch = 128;
    constexpr int train_steps = 5;
    model cpu_model(C), gpu_model(C);
    cpu_model.initialise(opt.seed), gpu_model.initialise(opt.seed);
    std::string why_not;
    std::unique_ptr<float_engine> gpu = make_cuda_engine(gpu_model, opt.tf32, why_not);
    if (!gpu) throw usage_error("--compare-engines: " + why_not);
    cpu_engine cpu(cpu_model, opt.threads);
    std::vector<int> order(static_cast<std::size_t>(train.count));
    std::iota(order.begin(), order.end(), 0);
    std::vector<float> x(static_cast<std::size_t>(batch) * image_pixels);
    std::vector<std::uint8_t> labels;
    bool ok = true;
    std::cout << "comparing the CPU engine (" << cpu.description() << ") with " << gpu->description() << ", C = " << C << ", batch " << batch << "\n";
    for (int b = 0; b < 4; ++b) {
        gather_images(train, order, static_cast<std::size_t>(b * batch), batch, x.data(), labels);
        int cpu_correct = 0, gpu_correct = 0;
        const double cpu_loss = cpu.evaluate_batch(x.data(), labels.data(), batch, bn_mode::batch_stats_only, cpu_correct);
        const double gpu_loss = gpu->evaluate_batch(x.data(), labels.data(), batch, bn_mode::batch_stats_only, gpu_correct);
        const bool same = std::abs(cpu_loss - gpu_loss) <= 0.02 * cpu_loss + 1e-6 && std::abs(cpu_correct - gpu_correct) <= 2;
        ok = ok && same;
        std::cout << "  eval batch " << b << ": loss " << std::setprecision(8) << cpu_loss << " (CPU) " << gpu_loss << " (CUDA), correct " << cpu_correct << " / "
                  << gpu_correct << (same ? "" : "  MISMATCH") << "\n";
    }
    for (int step = 0; step < train_steps; ++step) {
        gather_images(train, order, static_cast<std::size_t>(step * batch), batch, x.data(), labels);
        int cpu_correct = 0, gpu_correct = 0;
        const double cpu_loss = cpu.train_step(x.data(), labels.data(), batch, opt.lr, cpu_correct);
        const double gpu_loss = gpu->train_step(x.data(), labels.data(), batch, opt.lr, gpu_correct);
        const bool same = std::abs(cpu_loss - gpu_loss) <= 0.05 * cpu_loss + 1e-6;
        ok = ok && same;
        std::cout << "  train step " << step << ": loss " << cpu_loss << " (CPU) " << gpu_loss << " (CUDA)" << (same ? "" : "  MISMATCH") << "\n";
    }
    gpu->download();
    // Adam moves each parameter by at most about lr per step, so differences are measured in lr.
    double worst = 0.0, sum = 0.0;
    std::size_t count = 0;
    const auto cpu_tensors = cpu_model.all(), gpu_tensors = gpu_model.all();
    for (std::size_t t = 0; t < cpu_tensors.size(); ++t)
        for (std::size_t i = 0; i < cpu_tensors[t]->value.size(); ++i) {
            const double d = std::abs(static_cast<double>(cpu_tensors[t]->value[i]) - gpu_tensors[t]->value[i]) / opt.lr;
            worst = std::max(worst, d), sum += d, ++count;
        }
    const double mean = sum / static_cast<double>(count);
    const bool params_ok = mean <= 0.05;
    ok = ok && params_ok;
    std::cout << "  parameters after " << train_steps << " Adam steps: mean |CPU - CUDA| = " << mean << " lr, max " << worst << " lr"
              << (params_ok ? "" : "  MISMATCH") << "\n"
              << (ok ? "engines agree" : "engines DISAGREE") << std::endl;
    return ok ? 0 : 1;
#else
    (void)opt, (void)train;
    throw usage_error("--compare-engines: this program was built without CUDA");
#endif
}

// ------------------------------------------------------------------------------------------

int run(options opt) {
    const auto started = clock_type::now();
    if (!std::filesystem::is_directory(opt.out_dir)) throw usage_error("--out '" + opt.out_dir + "' is not a directory");
    const bool gpu = gpu_expected(opt);
    if (gpu) {
        // The Loihi stage trains on the CPU at about 200-280 images/s whatever the core count
        // (measured on 2 and 16 cores); on a GPU machine its default is twice the CPU default's
        // 4000 images, so the whole demo stays near 3.5 minutes on an H200.
        if (opt.loihi.train_limit < 0) opt.loihi.train_limit = 8000;
    }
    if (opt.channels == 0) opt.channels = gpu ? 128 : 16;
    if (opt.epochs < 0) opt.epochs = gpu ? 30 : 1;
    if (opt.batch == 0) opt.batch = gpu ? 128 : 64;
    std::int64_t C = opt.channels;
    if (!opt.load_dir.empty()) {
        const std::int64_t saved = model::saved_channels(opt.load_dir);
        if (opt.channels_given && saved != opt.channels)
            throw usage_error("--load: the model in '" + opt.load_dir + "' has " + std::to_string(saved) + " channels, but --channels " + std::to_string(opt.channels) + " was given");
        C = saved;
    }
    loihi::validate(opt.loihi);
    const dataset train = load_split(opt.data_dir, "train");
    if (opt.compare_engines) return compare_engines(opt, train);
    const dataset test = load_split(opt.data_dir, "t10k");

    model m(C);
    m.initialise(opt.seed);
    if (!opt.load_dir.empty()) m.load(opt.load_dir);
    bool on_gpu = false;
    std::unique_ptr<float_engine> engine = make_engine(opt, m, on_gpu);

    std::mt19937 shuffler(opt.seed + 1);
    std::vector<int> order(static_cast<std::size_t>(train.count));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), shuffler);
    // --train-limit takes a fixed random subset (the same every epoch); each epoch reshuffles it.
    const std::size_t train_count = opt.train_limit > 0 ? static_cast<std::size_t>(std::min(opt.train_limit, train.count)) : order.size();
    order.resize(train_count);
    std::vector<int> test_order(static_cast<std::size_t>(test.count));
    std::iota(test_order.begin(), test_order.end(), 0);
    // Probe: a fixed set of training images, evaluated with batch statistics (not touching the
    // running ones) before and after training, for --check and the final line.
    const std::vector<int> probe_order(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(train_count, 256)));
    const std::int64_t eval_batch = 256;

    std::cout << "Fashion-MNIST from " << opt.data_dir << ": " << train_count << " training images, " << test.count << " test images\n"
              << "CSNN: {Conv3x3(" << C << ")-BN-IF-MaxPool2} x 2, Linear(" << C * 49 << ", " << C * 16 << ")-IF, Linear(" << C * 16 << ", 10)-IF; T = " << steps
              << "; Adam lr " << opt.lr << " (cosine), batch " << opt.batch << ", " << opt.epochs << " epoch(s), seed " << opt.seed
              << (opt.load_dir.empty() ? std::string() : ", loaded from " + opt.load_dir) << "\nfloat32 training on " << engine->description() << "\n";

    const double probe_before = evaluate(*engine, train, probe_order, probe_order.size(), eval_batch, bn_mode::batch_stats_only).loss;
    history float_curves;
    float_curves.label = "CSNN float32 (" + std::string(on_gpu ? "CUDA" : "CPU") + "), C = " + std::to_string(C) + ", T = " + std::to_string(steps);
    std::vector<std::uint8_t> labels;
    std::vector<float> x(static_cast<std::size_t>(opt.batch) * image_pixels);
    double train_seconds = 0.0;
    eval_result test_result{};
    for (int epoch = 0; epoch < opt.epochs; ++epoch) {
        const double lr = 0.5 * opt.lr * (1.0 + std::cos(pi * epoch / opt.epochs));  // CosineAnnealingLR(T_max = epochs), stepped per epoch
        std::shuffle(order.begin(), order.end(), shuffler);
        const auto epoch_start = clock_type::now();
        double loss_sum = 0.0;
        long long correct_sum = 0;
        std::size_t done = 0;
        history::recorder record{float_curves, epoch, train_count};
        const std::string label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs);
        auto last_shown = clock_type::now() - std::chrono::seconds(1);
        for (std::size_t first = 0; first < train_count; first += static_cast<std::size_t>(opt.batch)) {
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(opt.batch), train_count - first));
            if (n < 2) break;  // batch norm needs two images (torch raises on a batch of one)
            gather_images(train, order, first, n, x.data(), labels);
            int correct = 0;
            const double loss = engine->train_step(x.data(), labels.data(), n, lr, correct);
            done += static_cast<std::size_t>(n);
            loss_sum += loss * static_cast<double>(n), correct_sum += correct;
            record.add(done, loss, correct, n);
            if (clock_type::now() - last_shown > std::chrono::milliseconds(250) || done == train_count) {
                last_shown = clock_type::now();
                show_progress(label, done, train_count, loss_sum / static_cast<double>(done), static_cast<double>(correct_sum) / static_cast<double>(done),
                              static_cast<double>(done) / seconds_since(epoch_start));
            }
        }
        const double epoch_seconds = seconds_since(epoch_start);
        train_seconds += epoch_seconds;
        std::cerr << '\n';
        test_result = evaluate(*engine, test, test_order, test_order.size(), eval_batch, bn_mode::running_stats);
        float_curves.test.emplace_back(epoch + 1.0, test_result.accuracy);
        std::cout << "epoch " << epoch + 1 << ": train loss " << std::fixed << std::setprecision(4) << loss_sum / static_cast<double>(done) << ", train acc "
                  << std::setprecision(2) << 100.0 * static_cast<double>(correct_sum) / static_cast<double>(done) << "%, test acc " << 100.0 * test_result.accuracy
                  << "% (float32), " << std::setprecision(1) << epoch_seconds << " s, " << std::setprecision(0) << static_cast<double>(done) / epoch_seconds
                  << " img/s" << std::endl;
        std::cout.unsetf(std::ios::floatfield);
    }
    if (opt.epochs == 0) test_result = evaluate(*engine, test, test_order, test_order.size(), eval_batch, bn_mode::running_stats);
    const double probe_after = evaluate(*engine, train, probe_order, probe_order.size(), eval_batch, bn_mode::batch_stats_only).loss;
    engine->download();

    std::vector<history> curves{float_curves};
    if (opt.epochs > 0) {
        m.save(opt.out_dir);
        std::cout << "wrote " << opt.out_dir << "/" << float_model_files.manifest << " (+ " << m.all().size() << " .npy files)\n";
    }
    // stage: float16 / Lynxi evaluation of the trained float model
    // The trained model in float16 numerics, emulated on the CPU (csnn/half_eval.hpp): as
    // model.half() with SpikingJelly's IFNode on a GPU, and with lynxi_exchange's IFNode.
    std::vector<std::pair<half_numerics, half_eval_result>> half_rows;
    if (opt.half) {
        for (half_numerics numerics : {half_numerics::float16_gpu, half_numerics::lynxi}) {
            const std::string label = numerics == half_numerics::float16_gpu ? "float16 test" : "Lynxi test  ";
            half_rows.emplace_back(numerics, evaluate_half(m, numerics, test, test_order, test_order.size(), opt.threads, label));
        }
    }

    // stage: Loihi variant
    loihi::result loihi_result;
    if (opt.loihi.enabled) {
        loihi_result = loihi::run_stage(opt.loihi, loihi::context{train, test, opt.seed, opt.threads, opt.out_dir});
        if (loihi_result.epochs > 0) curves.push_back(loihi_result.curves);
    }

    if (opt.epochs > 0 || loihi_result.epochs > 0) {
        const std::string svg_path = opt.out_dir + "/csnn_curves.svg";
        std::ostringstream subtitle;
        subtitle << std::fixed << std::setprecision(1) << (opt.epochs > 0 ? train_seconds / opt.epochs : 0.0) << " s per float32 epoch on " << engine->description()
                 << "; curves every tenth of an epoch, test accuracy at each epoch's end";
        write_curves_svg(svg_path, "Fashion-MNIST CSNN trained with snn", subtitle.str(), curves);
        std::cout << "wrote " << svg_path << "\n";
    }
    std::cout << "\n  numerics                                  test accuracy\n"
              << "  " << std::left << std::setw(45) << (on_gpu ? "float32 (snn CUDA kernels)" : "float32 (snn CPU kernels)") << std::right << std::fixed << std::setprecision(2) << 100.0 * test_result.accuracy << "%\n";
    for (const auto& [numerics, row] : half_rows) {
        std::ostringstream name;
        name << "  " << std::left << std::setw(45) << half_numerics_label(numerics);
        std::cout << name.str() << std::fixed << std::setprecision(2) << 100.0 * row.accuracy << "%  (" << std::showpos << 100.0 * (row.accuracy - test_result.accuracy)
                  << std::noshowpos << " points vs float32; CPU emulation, " << std::setprecision(1) << row.seconds << " s)\n";
    }
    loihi::print_rows(loihi_result);
    std::cout << "\n";
    const double total = seconds_since(started);
    std::cout << "RESULT device=" << (on_gpu ? "cuda" : "cpu") << " channels=" << C << " epochs=" << opt.epochs << " train_images=" << train_count
              << " probe_loss_before=" << std::setprecision(6) << probe_before << " probe_loss_after=" << probe_after << " test_accuracy=" << test_result.accuracy
              << " train_seconds=" << std::setprecision(1) << train_seconds << " seconds_per_epoch=" << (opt.epochs > 0 ? train_seconds / opt.epochs : 0.0)
              << " total_seconds=" << total;
    for (const auto& [numerics, row] : half_rows) {
        const char* key = numerics == half_numerics::float16_gpu ? "float16" : "lynxi";
        std::cout << ' ' << key << "_accuracy=" << std::setprecision(6) << row.accuracy << ' ' << key << "_eval_seconds=" << std::setprecision(1) << row.seconds;
    }
    std::cout << loihi::result_fields(loihi_result) << std::endl;
    if (opt.check && opt.epochs > 0 && !(probe_after < probe_before)) {
        std::cerr << "check failed: the probe loss did not fall (" << probe_before << " -> " << probe_after << ")\n";
        return 1;
    }
    if (opt.check && loihi_result.epochs > 0 && !(loihi_result.probe_loss_after < loihi_result.probe_loss_before)) {
        std::cerr << "check failed: the Loihi variant's probe loss did not fall (" << loihi_result.probe_loss_before << " -> " << loihi_result.probe_loss_after << ")\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const char* name = "snn-example-fashion-mnist-csnn";
    try {
        return run(parse_options(argc, argv));
    } catch (const missing_data& e) {
        std::cerr << name << ": " << e.what() << '\n';
        return 4;
    } catch (const std::bad_alloc&) {
        std::cerr << name << ": out of memory (try a smaller --batch or --channels)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << name << ": " << e.what() << '\n';
        return 2;
    }
}
