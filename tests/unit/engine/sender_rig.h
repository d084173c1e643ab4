#pragma once
// A sender engine alone against recording ports and a hand-driven clock:
// every datagram it sends is kept decoded, the dataplane only records the
// passes asked of it, and client datagrams are built by hand.

#include "control/engine/sender_engine.h"
#include "protocol/codec.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace skycast::test {

namespace engine = control::engine;

struct recorded {
    engine::endpoint to;
    protocol::datagram d;
    std::vector<std::uint8_t> raw;
    engine::time_ns delay = 0; // a spaced copy: how long after it was queued it leaves
};

class recording_network : public engine::network_port {
public:
    void send(engine::endpoint to, std::span<const std::uint8_t> datagram) override {
        recorded r{.to = to, .raw = {datagram.begin(), datagram.end()}};
        EXPECT_EQ(protocol::decode(r.raw, r.d), protocol::wire_error::ok);
        // decode() keeps spans into the buffer: decode again from the stored copy.
        sent.push_back(std::move(r));
        protocol::decode(sent.back().raw, sent.back().d);
    }
    // Recorded in order with the others, its delay noted: tests that count
    // copies see them all, tests of spacing read the delay.
    void send_later(engine::endpoint to, std::span<const std::uint8_t> datagram,
                    engine::time_ns delay) override {
        send(to, datagram);
        sent.back().delay = delay;
    }
    std::vector<recorded> sent;
    template <class Msg>
    std::vector<const recorded*> of() const {
        std::vector<const recorded*> out;
        for (const auto& r : sent) {
            if (std::holds_alternative<Msg>(r.d.body)) {
                out.push_back(&r);
            }
        }
        return out;
    }
};

// The client IDs the i-th recorded Msg lists.
template <class Msg>
std::vector<std::uint32_t> listed(const recording_network& net, std::size_t i) {
    return std::get<Msg>(net.of<Msg>().at(i)->d.body).client_ids;
}

class fake_sender_dataplane : public engine::sender_dataplane_port {
public:
    explicit fake_sender_dataplane(engine::sequence_counter& seq) : _seq(seq) {}
    bool start_pass(engine::pass_request r) override {
        passes.push_back(std::move(r));
        if (refuse_passes > 0) {
            --refuse_passes;
            return false;
        }
        // The dataplane stamps FILESEGs from the same counter: take a few.
        for (int i = 0; i < 3; ++i) {
            fileseg_seqs.push_back(_seq.next());
        }
        return true;
    }
    void stop_pass() override { ++stops; }
    std::uint32_t pass_cursor() const override { return cursor; }
    std::uint64_t pass_bytes_sent() const override { return bytes_sent; }
    void set_pass_rate(std::uint64_t rate_bps) override { rates.push_back(rate_bps); }
    std::vector<engine::pass_request> passes;
    std::uint64_t bytes_sent = 0;
    std::vector<std::uint64_t> rates; // set_pass_rate calls
    std::vector<std::uint16_t> fileseg_seqs;
    std::uint32_t cursor = 0;
    int stops = 0;
    int refuse_passes = 0; // the next this many start_pass calls are refused

private:
    engine::sequence_counter& _seq;
};

// A client's datagram. Each call takes the next sequence number unless one
// is given, as a real client's would: an identical datagram again is a copy,
// which the sender drops (control/engine/repeat_filter.h).
inline std::vector<std::uint8_t> client_datagram(std::uint32_t uid, std::uint32_t group,
                                                 const protocol::message& m,
                                                 std::optional<std::uint16_t> seq = {}) {
    static std::uint16_t next_seq = 0;
    std::vector<std::uint8_t> out(protocol::max_datagram_size);
    const auto n = protocol::encode(
        {.seq = seq ? *seq : next_seq++, .src_id = uid, .group_id = group}, m, out);
    EXPECT_TRUE(n.ok());
    out.resize(n.ok() ? *n : 0);
    return out;
}

inline protocol::timestamp stamp_of(engine::time_ns t) {
    return {.sec = static_cast<std::uint32_t>(t / engine::ns_per_second),
            .usec = static_cast<std::uint32_t>(t % engine::ns_per_second / 1000)};
}

struct sender_rig {
    explicit sender_rig(engine::sender_config cfg, std::vector<engine::file_entry> files)
        : dp(seq), sender(std::move(cfg), std::move(files), net, dp, seq) {}
    recording_network net;
    engine::sequence_counter seq;
    fake_sender_dataplane dp;
    engine::sender_engine sender;

    // Starts the session and takes it to pass 1 of file 1 with client `uid`
    // alone: its REGISTER, the announce phase run out, its FILEINFO_ACK.
    // Returns the time then.
    engine::time_ns to_first_pass(std::uint32_t uid, engine::time_ns t0) {
        sender.start(t0);
        sender.on_datagram(
            t0 + 1'000'000, {.address = uid},
            client_datagram(uid, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
        engine::time_ns now = t0;
        while (sender.phase() != engine::sender_phase::fileinfo) {
            now = sender.next_deadline();
            sender.on_timer(now);
        }
        sender.on_datagram(now, {.address = uid},
                           client_datagram(uid, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
        return now;
    }
};

inline engine::sender_config quick_sender(std::vector<std::uint32_t> hosts = {}) {
    return {.sender_id = 0x01020304,
            .group_id = 0x77,
            .robust = 3,
            .grtt_init = 0.1,
            .announce_rounds = 2,
            .host_list = std::move(hosts)};
}

} // namespace skycast::test
