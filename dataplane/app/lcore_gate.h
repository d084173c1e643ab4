#pragma once
// Parking an lcore so the service thread can change what it owns (style rule 11,
// docs/architecture.md, handover with acknowledgement).
//
// Protocol: the service thread sets `pause` (release) and waits, with a
// timeout, until the lcore sets `parked` (release). The lcore checks `pause`
// once per loop iteration (acquire); when set, it publishes `parked` and
// spins until `pause` is cleared, then clears `parked`. Between seeing
// `parked` and clearing `pause`, the service thread has the lcore's tables
// to itself. Each flag has exactly one writer; the lcore never blocks on
// anything but this flag, and only when asked.
//
// All accesses are sequentially consistent: `running` and `pause` form a
// store-then-load pair on each side (Dekker), which acquire/release does not
// order. The lcore pays one plain load per iteration on x86.
//
// Not claimed: fairness or a bound on how long the lcore stays parked — the
// service thread holds it only for table updates (microseconds).

#include <atomic>
#include <chrono>
#include <rte_pause.h>
#include <thread>

namespace skycast::dataplane {

struct alignas(64) lcore_gate {
    std::atomic<bool> pause{false};   // writer: service thread
    std::atomic<bool> parked{false};  // writer: the lcore
    std::atomic<bool> running{false}; // writer: the lcore (true while its loop runs)

    // Lcore side: call once per iteration.
    void check() {
        if (!pause.load()) {
            return;
        }
        parked.store(true);
        while (pause.load()) {
            rte_pause();
        }
        parked.store(false);
    }
};

// Service side: parks the lcore for the lifetime of the object. When the
// lcore's loop is not running (before start, after stop), there is nothing
// to wait for. `ok()` is false when the lcore did not park within the
// timeout: the caller must not touch the lcore's tables then.
class gate_hold {
public:
    explicit gate_hold(lcore_gate& gate,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(1000))
        : _gate(gate) {
        _gate.pause.store(true);
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (_gate.running.load() && !_gate.parked.load()) {
            if (std::chrono::steady_clock::now() > deadline) {
                _ok = false;
                return;
            }
            std::this_thread::yield();
        }
    }
    ~gate_hold() { _gate.pause.store(false); }
    gate_hold(const gate_hold&) = delete;
    gate_hold& operator=(const gate_hold&) = delete;
    bool ok() const { return _ok; }

private:
    lcore_gate& _gate;
    bool _ok = true;
};

} // namespace skycast::dataplane
