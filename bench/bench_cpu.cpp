// snn-bench-cpu: throughput of the fused multi-step LIF kernels on the CPU, compared with the
// memcpy bandwidth of the same machine measured in the same run.
//
// The kernels stream [T, N] tensors once per pass, so memory bandwidth, not arithmetic, is
// what they should be limited by: every row reports the bytes the kernel has to move, the
// resulting GB/s and that as a fraction of what a plain (threaded) memcpy achieves on buffers
// of the same size, timed alternately with the kernel so that both see the same machine load.
// The neuron is SpikingJelly's LIFNode(tau=2, decay_input=True, v_reset=0, v_threshold=1,
// surrogate ATan(alpha=2)) in float32, run through the run-time dispatch table
// (cpu/dispatch.hpp) exactly as a program built with snn_add_simd_dispatch would.
//
//   snn-bench-cpu [--quick] [--threads K] [--csv FILE] [--isa LIST] [--neurons N] [--steps LIST]
//
// This is a benchmark, not a test: it checks nothing beyond the kernels not throwing.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <snn/cpu/dispatch.hpp>
#include <snn/neuron/params.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

struct options {
    int threads = 0;                            // 0: every hardware thread
    bool quick = false;                         // fewer T values and repeats
    std::string csv;                            // write the table here when not empty
    std::vector<std::string> isas;              // empty: scalar, the best SIMD ISA, then the others
    std::int64_t neurons = std::int64_t{1} << 20;
    std::vector<std::int64_t> steps;            // empty: {8, 16, 32, 64, 128} or {8, 32} with --quick
};

void print_usage(std::ostream& os) {
    os << "usage: snn-bench-cpu [options]\n"
          "  --quick          T in {8, 32} and fewer repeats (scalar and the best SIMD ISA only)\n"
          "  --threads K      worker threads (default: all hardware threads)\n"
          "  --csv FILE       also write the table as CSV\n"
          "  --isa LIST       comma-separated: scalar, simd (best), sse2, avx2, avx512, ...\n"
          "                   (default: scalar, simd and every other compiled ISA this CPU runs)\n"
          "  --neurons N      neurons per time step (default 1048576 = 2^20)\n"
          "  --steps LIST     comma-separated time-step counts (default 8,16,32,64,128)\n";
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    std::string part;
    while (std::getline(stream, part, ','))
        if (!part.empty()) parts.push_back(part);
    return parts;
}

std::int64_t parse_positive(const std::string& text, const char* what) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || value <= 0) throw std::runtime_error(std::string(what) + " must be a positive integer, got '" + text + "'");
    return value;
}

options parse_options(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--quick") opt.quick = true;
        else if (arg == "--threads") opt.threads = static_cast<int>(parse_positive(value(), "--threads"));
        else if (arg == "--csv") opt.csv = value();
        else if (arg == "--isa") opt.isas = split_commas(value());
        else if (arg == "--neurons") opt.neurons = parse_positive(value(), "--neurons");
        else if (arg == "--steps") {
            for (const auto& s : split_commas(value())) opt.steps.push_back(parse_positive(s, "--steps"));
        } else if (arg == "--help" || arg == "-h") {
            print_usage(std::cout);
            std::exit(0);
        } else {
            throw std::runtime_error("unknown option '" + arg + "' (see --help)");
        }
    }
    if (opt.steps.empty()) opt.steps = opt.quick ? std::vector<std::int64_t>{8, 32} : std::vector<std::int64_t>{8, 16, 32, 64, 128};
    if (opt.threads == 0) opt.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    return opt;
}

// ------------------------------------------------------------------------------------------
// Buffers, filled in parallel so that the pages are first touched by the threads that use them
// ------------------------------------------------------------------------------------------

/// A 64-byte-aligned, uninitialised float array (std::vector would zero it on one thread).
class float_buffer {
public:
    explicit float_buffer(std::size_t count) : data_(static_cast<float*>(::operator new[](count * sizeof(float), std::align_val_t{64}))), size_(count) {}
    ~float_buffer() { ::operator delete[](data_, std::align_val_t{64}); }
    float_buffer(const float_buffer&) = delete;
    float_buffer& operator=(const float_buffer&) = delete;

    float* data() { return data_; }
    const float* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    float* data_;
    std::size_t size_;
};

/// Calls body(begin, end) on `threads` contiguous slices of [0, count).
void parallel_slices(std::size_t count, int threads, const std::function<void(std::size_t, std::size_t)>& body) {
    const std::size_t workers = static_cast<std::size_t>(std::max(1, threads));
    std::vector<std::thread> pool;
    for (std::size_t w = 0; w < workers; ++w) {
        const std::size_t begin = count * w / workers;
        const std::size_t end = count * (w + 1) / workers;
        if (w + 1 == workers) body(begin, end);
        else pool.emplace_back(body, begin, end);
    }
    for (auto& t : pool) t.join();
}

/// Counter-based uniform [0, 1) (SplitMix64 of seed + index): the same values for any thread
/// count and standard library, and trivially parallel.
float uniform01(std::uint64_t seed, std::uint64_t index) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // 24 random bits
}

void fill_uniform(float_buffer& buffer, float lo, float hi, std::uint64_t seed, int threads) {
    float* p = buffer.data();
    parallel_slices(buffer.size(), threads, [=](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) p[i] = lo + (hi - lo) * uniform01(seed, i);
    });
}

/// Mean of the first `count` elements (the firing rate of a spike tensor).
double mean(const float* p, std::size_t count, int threads) {
    std::mutex lock;
    double total = 0.0;
    parallel_slices(count, threads, [&](std::size_t begin, std::size_t end) {
        double sum = 0.0;
        for (std::size_t i = begin; i < end; ++i) sum += p[i];
        const std::lock_guard<std::mutex> guard(lock);
        total += sum;
    });
    return total / static_cast<double>(count);
}

void fill_zero(float_buffer& buffer, int threads) {
    float* p = buffer.data();
    parallel_slices(buffer.size(), threads, [=](std::size_t begin, std::size_t end) { std::memset(p + begin, 0, (end - begin) * sizeof(float)); });
}

// ------------------------------------------------------------------------------------------
// Timing
// ------------------------------------------------------------------------------------------

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct timing {
    double median_ms = 0.0;            // the kernel
    double reference_median_ms = 0.0;  // the memcpy timed alongside it
    int repeats = 0;
};

/// Times `run` and `reference` (a memcpy) alternately, one call of each per repeat, in
/// alternating order: on a machine shared with other work both see the same disturbances,
/// so their ratio is steadier than two separate measurements. One warm-up call each, then
/// repeats until `max_repeats` or until `budget_s` is spent (but at least 3).
timing time_paired(const std::function<void()>& run, const std::function<void()>& reference, int max_repeats, double budget_s) {
    run();  // warm-up: caches, TLB and branch predictors, first touch of any page not yet used
    reference();
    std::vector<double> kernel_ms, reference_ms;
    auto time_ms = [](const std::function<void()>& f) {
        const auto t0 = clock_type::now();
        f();
        return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    };
    const auto start = clock_type::now();
    while (static_cast<int>(kernel_ms.size()) < max_repeats) {
        if (kernel_ms.size() % 2 == 0) {
            kernel_ms.push_back(time_ms(run));
            reference_ms.push_back(time_ms(reference));
        } else {
            reference_ms.push_back(time_ms(reference));
            kernel_ms.push_back(time_ms(run));
        }
        if (kernel_ms.size() >= 3 && std::chrono::duration<double>(clock_type::now() - start).count() > budget_s) break;
    }
    return {median(kernel_ms), median(reference_ms), static_cast<int>(kernel_ms.size())};
}

/// A threaded memcpy of `bytes` from `src` to `dst`, split like the kernels split their work.
std::function<void()> threaded_memcpy(const float* src, float* dst, std::size_t bytes, int threads) {
    const auto* s = reinterpret_cast<const unsigned char*>(src);
    auto* d = reinterpret_cast<unsigned char*>(dst);
    return [=] { parallel_slices(bytes, threads, [=](std::size_t b, std::size_t e) { std::memcpy(d + b, s + b, e - b); }); };
}

// ------------------------------------------------------------------------------------------
// Machine description
// ------------------------------------------------------------------------------------------

std::string cpu_model() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string model = line.substr(colon + 1);
                model.erase(0, model.find_first_not_of(" \t"));
                if (!model.empty()) return model;
            }
        }
    }
    return "unknown CPU";
}

/// The 1-minute load average, to flag runs disturbed by other work ("" where unknown).
std::string load_average() {
    std::ifstream loadavg("/proc/loadavg");
    std::string one_minute;
    loadavg >> one_minute;
    return one_minute;
}

// ------------------------------------------------------------------------------------------
// The benchmark rows
// ------------------------------------------------------------------------------------------

struct row {
    std::string backend;  // scalar | simd
    std::string isa;      // the kernel table's ISA
    std::string kernel;   // inference | train-fwd | backward | train-fwd+bwd
    std::int64_t steps = 0, neurons = 0;
    double median_ms = 0.0;
    int repeats = 0;
    double bytes = 0.0;
    double memcpy_gbs = 0.0;  // the memcpy timed alongside this row, read + write bytes

    double gbs() const { return bytes / (median_ms * 1e6); }
    double fraction() const { return gbs() / memcpy_gbs; }
    double neuron_steps_per_s() const { return static_cast<double>(steps) * static_cast<double>(neurons) / (median_ms * 1e-3); }
};

void print_header_line(std::ostream& os) {
    char line[256];
    std::snprintf(line, sizeof line, "%-7s %-7s %-14s %4s %10s %5s %10s %8s %8s %8s %12s", "backend", "isa", "kernel", "T", "median ms", "reps",
                  "MiB moved", "GB/s", "memcpy", "%memcpy", "Gneuron-st/s");
    os << line << '\n' << std::string(std::strlen(line), '-') << '\n';
}

void print_row(std::ostream& os, const row& r) {
    char line[256];
    std::snprintf(line, sizeof line, "%-7s %-7s %-14s %4lld %10.3f %5d %10.1f %8.2f %8.2f %7.1f%% %12.3f", r.backend.c_str(), r.isa.c_str(),
                  r.kernel.c_str(), static_cast<long long>(r.steps), r.median_ms, r.repeats, r.bytes / (1024.0 * 1024.0), r.gbs(), r.memcpy_gbs,
                  100.0 * r.fraction(), r.neuron_steps_per_s() * 1e-9);
    os << line << std::endl;  // flush: rows double as progress output
}

void write_csv(const std::string& path, const std::vector<row>& rows, const std::string& cpu, int threads) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot open '" + path + "' for writing");
    out << "cpu,threads,backend,isa,kernel,T,N,median_ms,repeats,bytes,GB_per_s,memcpy_GB_per_s,fraction_of_memcpy,neuron_steps_per_s\n";
    for (const row& r : rows)
        out << '"' << cpu << "\"," << threads << ',' << r.backend << ',' << r.isa << ',' << r.kernel << ',' << r.steps << ',' << r.neurons << ','
            << r.median_ms << ',' << r.repeats << ',' << r.bytes << ',' << r.gbs() << ',' << r.memcpy_gbs << ',' << r.fraction() << ','
            << r.neuron_steps_per_s() << '\n';
    if (!out) throw std::runtime_error("failed writing '" + path + "'");
}

/// The neuron: LIFNode(tau=2, decay_input=True, v_reset=0, v_threshold=1, ATan(alpha=2)),
/// with the dynamic table's run-time choices spelled out.
snn::neuron_params lif_params() {
    snn::neuron_params p;
    p.tau = 2.0;
    p.v_threshold = 1.0;
    p.v_reset = 0.0;
    p.surrogate.alpha = 2.0;
    p.dynamic.reset = snn::reset_kind::hard;
    p.dynamic.detach_reset = false;
    p.dynamic.fire = snn::fire_kind::greater_equal;
    p.dynamic.division = snn::division_kind::true_division;
    p.dynamic.surrogate = snn::surrogate_kind::atan;
    return p;
}

/// Every [T, N] tensor sized for the largest T; a [T, N] prefix of a [Tmax, N] row-major
/// buffer is itself a valid [T, N] tensor, so one allocation serves every T.
struct tensors {
    float_buffer x, spike, h_seq, grad_spike, grad_x;  // [Tmax, N]
    float_buffer v_last, grad_v_init;                   // [N]

    tensors(std::size_t max_elements, std::size_t neurons, int threads)
        : x(max_elements), spike(max_elements), h_seq(max_elements), grad_spike(max_elements), grad_x(max_elements), v_last(neurons), grad_v_init(neurons) {
        // x ~ U[0, 1.5): with tau 2 the membrane approaches x, so inputs above the threshold
        // of 1 (a third of them) fire every few steps and the rest stay silent: a realistic
        // mix with both branches of the reset taken. grad_spike ~ U[-0.5, 0.5).
        fill_uniform(x, 0.0f, 1.5f, 1, threads);
        fill_uniform(grad_spike, -0.5f, 0.5f, 2, threads);
        for (float_buffer* b : {&spike, &h_seq, &grad_x, &v_last, &grad_v_init}) fill_zero(*b, threads);
    }
};

/// Times inference, training forward and backward of one kernel table at one T.
std::vector<row> bench_table(const snn::cpu::kernel_table& table, const std::string& backend, tensors& buf, std::int64_t T, std::int64_t N,
                             const snn::cpu::execution& exec, int max_repeats, double budget_s) {
    const snn::neuron_params params = lif_params();
    const snn::cpu::kernel_entry& k = table.at(snn::cpu::precision_id::f32, snn::cpu::charge_id::lif_decay_input);
    const double TN = static_cast<double>(T) * static_cast<double>(N);

    snn::cpu::erased_forward_args infer;
    infer.steps = T;
    infer.neurons = N;
    infer.x = buf.x.data();
    infer.spike = buf.spike.data();
    infer.v_last = buf.v_last.data();  // v_seq stays nullptr: not written

    snn::cpu::erased_forward_args train = infer;
    train.v_last = nullptr;
    train.h_seq = buf.h_seq.data();

    snn::cpu::erased_backward_args back;
    back.steps = T;
    back.neurons = N;
    back.grad_spike = buf.grad_spike.data();
    back.h_seq = buf.h_seq.data();
    back.grad_x = buf.grad_x.data();
    back.grad_v_init = buf.grad_v_init.data();  // grad_v_seq stays nullptr

    // The reference: memcpy of x into grad_x, the same 4*T*N-byte source and destination
    // that inference streams (8*T*N bytes counted). grad_x is overwritten by every backward.
    const double copy_bytes = 8.0 * TN;
    const std::function<void()> copy = threaded_memcpy(buf.x.data(), buf.grad_x.data(), static_cast<std::size_t>(T * N) * sizeof(float), exec.threads);

    auto make_row = [&](const char* kernel, timing t, double bytes) {
        row r;
        r.backend = backend;
        r.isa = table.isa;
        r.kernel = kernel;
        r.steps = T;
        r.neurons = N;
        r.median_ms = t.median_ms;
        r.repeats = t.repeats;
        r.bytes = bytes;
        r.memcpy_gbs = copy_bytes / (t.reference_median_ms * 1e6);
        return r;
    };

    std::vector<row> rows;
    // Inference reads x, writes spike (4 bytes each per neuron-step) and v_last once.
    rows.push_back(make_row("inference", time_paired([&] { k.forward_inference(params, infer, exec); }, copy, max_repeats, budget_s),
                            8.0 * TN + 4.0 * static_cast<double>(N)));
    // Training forward reads x, writes spike and h_seq; backward reads grad_spike and h_seq
    // and writes grad_x (its [N] grad_v_init, 1/(3T) of the traffic, is not counted). The
    // last training forward leaves h_seq in place for backward.
    rows.push_back(make_row("train-fwd", time_paired([&] { k.forward_training(params, train, exec); }, copy, max_repeats, budget_s), 12.0 * TN));
    rows.push_back(make_row("backward", time_paired([&] { k.backward(params, back, exec); }, copy, max_repeats, budget_s), 12.0 * TN));
    // A training step is forward then backward: the sum of the two medians.
    const double copy_ms[2] = {copy_bytes / (rows[1].memcpy_gbs * 1e6), copy_bytes / (rows[2].memcpy_gbs * 1e6)};
    const timing both{rows[1].median_ms + rows[2].median_ms, 0.5 * (copy_ms[0] + copy_ms[1]), std::min(rows[1].repeats, rows[2].repeats)};
    rows.push_back(make_row("train-fwd+bwd", both, 24.0 * TN));
    return rows;
}

/// The kernel tables to run, as (backend label, table): scalar first, then the best SIMD ISA,
/// then the other compiled SIMD ISAs this CPU can run (unless --isa or --quick narrow it).
std::vector<std::pair<std::string, const snn::cpu::kernel_table*>> tables_to_run(const options& opt) {
    std::vector<std::string> names = opt.isas;
    if (names.empty()) {
        names = {"scalar", "simd"};
        if (!opt.quick) {
            std::stringstream available(snn::cpu::available_isas());
            std::string name;
            while (available >> name)
                if (name != "scalar") names.push_back(name);
        }
    }
    std::vector<std::pair<std::string, const snn::cpu::kernel_table*>> tables;
    for (const auto& name : names) {
        const snn::cpu::kernel_table* table = &snn::cpu::select_isa(name);
        const bool duplicate = std::any_of(tables.begin(), tables.end(), [&](const auto& t) { return t.second == table; });
        if (!duplicate) tables.emplace_back(name == "scalar" ? "scalar" : "simd", table);
    }
    return tables;
}

int run(const options& opt) {
    const std::int64_t N = opt.neurons;
    const std::int64_t max_T = *std::max_element(opt.steps.begin(), opt.steps.end());
    const auto tables = tables_to_run(opt);
    const snn::cpu::execution exec{opt.threads};
    const int max_repeats = opt.quick ? 5 : 15;
    const double budget_s = opt.quick ? 0.5 : 2.0;  // per row, after the first 3 repeats
    const std::string cpu = cpu_model();

    std::cout << "snn-bench-cpu: multi-step LIF (tau 2, decay_input, hard reset to 0, v_th 1, ATan alpha 2), float32, dynamic kernel table\n"
              << "CPU: " << cpu << " | threads: " << opt.threads << " | N = " << N << " neurons | best SIMD ISA: " << snn::cpu::select_isa("simd").isa
              << " | available: " << snn::cpu::available_isas() << '\n';
    if (const std::string load = load_average(); !load.empty())
        std::cout << "load average (1 min) at start: " << load << " (other busy processes distort the timings)\n";
    std::cout << "allocating " << 5.0 * static_cast<double>(max_T) * static_cast<double>(N) * 4.0 / (1 << 30) << " GiB and filling inputs..." << std::endl;
    tensors buf(static_cast<std::size_t>(max_T * N), static_cast<std::size_t>(N), opt.threads);

    // Machine bandwidth up front, for the header: threaded memcpy of x into grad_x at each T
    // (2 x 4*T*N bytes). The table's "memcpy" column is measured again alongside each row.
    std::cout << "memcpy bandwidth (" << opt.threads << " threads, read + write bytes counted):";
    for (std::int64_t T : opt.steps) {
        const std::size_t bytes = static_cast<std::size_t>(T * N) * sizeof(float);
        const auto copy = threaded_memcpy(buf.x.data(), buf.grad_x.data(), bytes, opt.threads);
        const timing t = time_paired(copy, [] {}, opt.quick ? 5 : 10, 1.0);
        std::printf("  T=%lld (2 x %.0f MiB): %.2f GB/s", static_cast<long long>(T), static_cast<double>(bytes) / (1024.0 * 1024.0),
                    2.0 * static_cast<double>(bytes) / (t.median_ms * 1e6));
        std::fflush(stdout);
    }
    std::cout << "\n\"memcpy\" below: GB/s of the same memcpy timed alternately with each row's kernel calls; %memcpy = GB/s / memcpy\n\n";

    std::vector<row> rows;
    std::vector<double> firing_rates;
    print_header_line(std::cout);
    for (std::size_t i = 0; i < opt.steps.size(); ++i) {
        const std::int64_t T = opt.steps[i];
        if (i > 0) std::cout << '\n';
        for (const auto& [backend, table] : tables)
            for (const row& r : bench_table(*table, backend, buf, T, N, exec, backend == "scalar" ? std::min(max_repeats, 10) : max_repeats, budget_s)) {
                print_row(std::cout, r);
                rows.push_back(r);
            }
        firing_rates.push_back(mean(buf.spike.data(), static_cast<std::size_t>(T * N), opt.threads));
    }
    std::cout << "\nfiring rate (spikes per neuron-step):";
    for (std::size_t i = 0; i < opt.steps.size(); ++i) std::printf("  T=%lld: %.2f%%", static_cast<long long>(opt.steps[i]), 100.0 * firing_rates[i]);
    std::cout << '\n';

    if (const std::string load = load_average(); !load.empty()) std::cout << "\nload average (1 min) at end: " << load << '\n';
    if (!opt.csv.empty()) {
        write_csv(opt.csv, rows, cpu, opt.threads);
        std::cout << "\nwrote " << opt.csv << '\n';
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_options(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "snn-bench-cpu: " << e.what() << '\n';
        return 1;
    }
}
