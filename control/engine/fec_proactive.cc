#include "control/engine/fec_proactive.h"

#include <cmath>

namespace skycast::control::engine {

namespace {

// Expected short groups over the whole file, at most this: one file in
// twenty needs a repair pass.
constexpr double short_groups_allowed = 0.05;

} // namespace

double group_short_probability(std::uint32_t data_blocks, std::uint32_t parity, double loss) {
    if (loss <= 0) {
        return 0;
    }
    if (loss >= 1) {
        return 1;
    }
    // The binomial upper tail, summed term by term (a group is at most 255
    // blocks): P(X > parity) for X ~ Binomial(n, loss). Each term through
    // lgamma, so that C(255, 128) does not overflow.
    const std::uint32_t n = data_blocks + parity;
    const double log_p = std::log(loss);
    const double log_q = std::log1p(-loss);
    const double log_n_factorial = std::lgamma(n + 1.0);
    double tail = 0;
    for (std::uint32_t x = parity + 1; x <= n; ++x) {
        const double log_term = log_n_factorial - std::lgamma(x + 1.0) - std::lgamma(n - x + 1.0) +
                                x * log_p + (n - x) * log_q;
        tail += std::exp(log_term);
    }
    return tail;
}

std::uint32_t parity_for_loss(std::uint32_t data_blocks, double loss, std::uint64_t receivers,
                              std::uint64_t groups, std::uint32_t max_parity) {
    if (loss <= 0 || receivers == 0 || groups == 0 || data_blocks == 0) {
        return 0;
    }
    const double chances = static_cast<double>(receivers) * static_cast<double>(groups);
    std::uint32_t parity = 0;
    while (parity < max_parity &&
           chances * group_short_probability(data_blocks, parity, loss) > short_groups_allowed) {
        ++parity;
    }
    return parity;
}

} // namespace skycast::control::engine
