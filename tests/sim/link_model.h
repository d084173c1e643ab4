#pragma once
// One direction of one simulated link: base delay, uniform jitter (which
// reorders packets whose gaps are shorter than it), independent random loss,
// Gilbert–Elliott bursty loss, duplication and explicit reordering. Every
// decision draws from the simulator's one seeded generator, in event order,
// so a run is a pure function of its seed and inputs.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace skycast::sim {

struct link_profile {
    double delay_s = 0.05; // one way
    double jitter_s = 0.0; // uniform extra delay in [0, jitter]
    double loss = 0.0;     // independent loss probability
    // Gilbert–Elliott bursty loss as a continuous-time two-state chain:
    // bad periods last ge_mean_bad_s on average, good ones ge_mean_good_s, and
    // a packet sent while bad is lost with ge_bad_loss. Time-based rather than
    // per packet, so sparse control traffic and dense data see the same fades
    // (a per-packet chain would stretch a burst over seconds of idle link).
    double ge_mean_good_s = 0.0; // 0: no bursty loss
    double ge_mean_bad_s = 0.02;
    double ge_bad_loss = 1.0;
    double duplicate = 0.0; // probability a packet arrives twice
    double reorder = 0.0;   // probability a packet is held back by reorder_extra_s
    double reorder_extra_s = 0.01;

    // Bursty loss whose long-run rate is `rate` (the bad-state share), with
    // bursts of `mean_burst_s` seconds on average.
    static link_profile with_burst_loss(link_profile base, double rate,
                                        double mean_burst_s = 0.02) {
        if (rate <= 0) {
            return base;
        }
        base.ge_mean_bad_s = mean_burst_s;
        base.ge_mean_good_s = mean_burst_s * (1.0 - rate) / rate;
        base.ge_bad_loss = 1.0;
        return base;
    }
};

// The per-direction state (Gilbert–Elliott state) and the decision.
class link_state {
public:
    // Fills `arrivals` with the delays (seconds) at which copies of one packet
    // arrive: empty when lost, two entries when duplicated.
    void transmit(const link_profile& p, std::mt19937_64& rng, double now_s,
                  std::vector<double>& arrivals) {
        arrivals.clear();
        std::uniform_real_distribution<double> u(0.0, 1.0);
        if (p.ge_mean_good_s > 0) {
            // Exact transition of the two-state chain over the time since the
            // last packet: P(bad at t) = pi_bad + (1[bad] - pi_bad) e^{-(a+b) dt}.
            const double a = 1.0 / p.ge_mean_good_s; // good -> bad rate
            const double b = 1.0 / p.ge_mean_bad_s;  // bad -> good rate
            const double pi_bad = a / (a + b);
            const double dt = _started ? std::max(0.0, now_s - _last_s) : 1e9;
            const double p_bad = pi_bad + ((_bad ? 1.0 : 0.0) - pi_bad) * std::exp(-(a + b) * dt);
            _bad = u(rng) < p_bad;
            _started = true;
            _last_s = now_s;
            if (_bad && u(rng) < p.ge_bad_loss) {
                return;
            }
        }
        if (p.loss > 0 && u(rng) < p.loss) {
            return;
        }
        const int copies = (p.duplicate > 0 && u(rng) < p.duplicate) ? 2 : 1;
        for (int i = 0; i < copies; ++i) {
            double d = p.delay_s;
            if (p.jitter_s > 0) {
                d += u(rng) * p.jitter_s;
            }
            if (p.reorder > 0 && u(rng) < p.reorder) {
                d += p.reorder_extra_s;
            }
            arrivals.push_back(d);
        }
    }

private:
    bool _bad = false;
    bool _started = false;
    double _last_s = 0;
};

} // namespace skycast::sim
