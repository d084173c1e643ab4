// Zero-copy plain FILESEGs (dataplane/app/extbuf.h) over a ring port, in
// process (suite `eal`): the two-segment frames the TX lcore builds carry
// the file's blocks with valid IPv4/UDP headers and checksums (checked by the
// receive classifier and the FILESEG decoder on the linearised frame), every
// frame is released through the buffer's free callback, and a port not
// configured for multi-segment TX gets one-segment copies.
//
// The frames are checked and freed before the service thread reclaims the
// pass (which unmaps the file): on a ring port the frames outlive
// rte_eth_tx_burst, which is exactly what zero_copy_frames_in_flight() is for.

#include "dataplane/app/extbuf.h"
#include "dataplane/app/tx_lcore.h"
#include "dataplane/core/net/classify.h"
#include "protocol/codec.h"
#include "tests/eal/dataplane/runtime_fixture.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ring_elem.h>
#include <unistd.h>

namespace skycast::dataplane::testing {
namespace {

namespace fs = std::filesystem;

struct sent_frame {
    std::vector<std::uint8_t> bytes; // linearised
    std::uint16_t segments = 0;
};

class zero_copy_test : public runtime_fixture {
protected:
    void SetUp() override {
        runtime_fixture::SetUp();
        char tmpl[] = "/tmp/skycast-zc-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    void TearDown() override {
        runtime_fixture::TearDown();
        fs::remove_all(dir);
    }

    // Sends `content` as one pass of `block`-byte blocks, the port's
    // multi-segment offload on or off; returns the frames, which are freed
    // before the pass is reclaimed.
    std::vector<sent_frame> send(const std::vector<std::uint8_t>& content, std::uint32_t block,
                                 bool multi_segment) {
        const fs::path path = dir / "src";
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(content.data()),
                   static_cast<std::streamsize>(content.size()));
        auto layout = protocol::section_layout::make(content.size(), block);
        EXPECT_TRUE(layout.ok());
        std::uint64_t* bits = rt->shared().bitmap(0);
        for (std::uint32_t b = 0; b < layout->blocks(); ++b) {
            bits[b >> 6] |= std::uint64_t{1} << (b & 63);
        }
        if (multi_segment) {
            rt->res().tx_offload |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        }
        api::command start{};
        start.kind = api::command_kind::start_pass;
        start.session = {
            .sender_id = our_ip, .group_id = 0x11223344, .session = api::no_session_keys};
        start.group = {.address = group_ip, .port = uftp_port};
        start.port = uftp_port;
        start.file_slot = 0;
        start.file_id = 9;
        start.pass = 1;
        start.geometry = {.file_size = content.size(), .block_size = block};
        std::snprintf(start.path, sizeof start.path, "%s", path.c_str());
        EXPECT_EQ(execute(start).status, api::reply_status::ok);

        // TX iterations only: no service round, so the mapping stays.
        std::vector<rte_mbuf*> held;
        bool ended = false;
        for (int i = 0; i < 100000 && !ended; ++i) {
            (void)tx_iteration(rt->tx());
            for (rte_mbuf* m : take_sent()) {
                held.push_back(m);
            }
            api::tx_event e{};
            if (rte_ring_sc_dequeue_elem(rt->res().tx_event, &e, sizeof e) == 0) {
                EXPECT_EQ(e.kind, api::tx_event_kind::pass_end);
                EXPECT_EQ(e.blocks_sent, layout->blocks());
                ended = true;
            }
        }
        EXPECT_TRUE(ended);
        std::vector<sent_frame> frames;
        std::uint64_t chained = 0;
        for (rte_mbuf* m : held) {
            sent_frame f;
            f.segments = m->nb_segs;
            f.bytes.resize(rte_pktmbuf_pkt_len(m));
            const void* p = rte_pktmbuf_read(m, 0, rte_pktmbuf_pkt_len(m), f.bytes.data());
            if (p != f.bytes.data()) {
                std::memcpy(f.bytes.data(), p, f.bytes.size());
            }
            chained += m->nb_segs > 1 ? 1 : 0;
            frames.push_back(std::move(f));
        }
        // Every chained frame still references the mapping until freed.
        EXPECT_EQ(zero_copy_frames_in_flight(rt->res().port), chained);
        free_all(held);
        EXPECT_EQ(zero_copy_frames_in_flight(rt->res().port), 0u);
        pump(2); // now the pass may be reclaimed and the file unmapped
        return frames;
    }

    // Checks each frame as a receiver would: headers and UDP checksum
    // (classify), FILESEG (decode), the block's bytes against the file.
    void expect_file(const std::vector<sent_frame>& frames,
                     const std::vector<std::uint8_t>& content, std::uint32_t block) {
        auto layout = protocol::section_layout::make(content.size(), block);
        ASSERT_TRUE(layout.ok());
        ASSERT_EQ(frames.size(), layout->blocks());
        const net::ipv4_address groups[] = {net::ipv4_address{group_ip}};
        const std::uint16_t ports[] = {uftp_port};
        net::rx_context ctx;
        std::memcpy(ctx.mac.bytes.data(), rt->shared().header().local_mac, 6);
        ctx.ip = net::ipv4_address{our_ip};
        ctx.groups = groups;
        ctx.udp_ports = ports;
        std::vector<bool> seen(layout->blocks());
        for (const sent_frame& f : frames) {
            const net::rx_verdict v = net::classify(f.bytes, ctx);
            ASSERT_EQ(v.kind, net::verdict_kind::udp)
                << "drop reason " << static_cast<int>(v.reason);
            protocol::uftp_header h;
            protocol::fileseg_msg seg;
            ASSERT_EQ(protocol::decode_fileseg(
                          std::span(f.bytes).subspan(v.payload_offset, v.payload_length), h, seg),
                      protocol::wire_error::ok);
            EXPECT_EQ(seg.file_id, 9);
            const std::uint32_t n =
                layout->block_at(protocol::block_position{seg.section, seg.sec_block});
            ASSERT_LT(n, layout->blocks());
            EXPECT_FALSE(seen[n]);
            seen[n] = true;
            ASSERT_EQ(seg.data.size(), layout->block_bytes(n));
            EXPECT_EQ(std::memcmp(seg.data.data(), content.data() + std::uint64_t{n} * block,
                                  seg.data.size()),
                      0)
                << "block " << n;
        }
    }

    fs::path dir;
};

TEST_F(zero_copy_test, chained_frames_carry_the_file_with_valid_checksums) {
    // A short last block (100 bytes, under zero_copy_min_block) is copied.
    const auto content = random_bytes(1300 * 300 + 100, 11);
    const auto frames = send(content, 1300, true);
    expect_file(frames, content, 1300);
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
        EXPECT_EQ(frames[i].segments, 2);
    }
    EXPECT_EQ(frames.back().segments, 1);
}

TEST_F(zero_copy_test, jumbo_blocks_and_an_odd_sized_last_block) {
    // An odd-length last block still above the copy threshold.
    const auto content = random_bytes(8800 * 40 + 4097, 12);
    const auto frames = send(content, 8800, true);
    expect_file(frames, content, 8800);
    for (const auto& f : frames) {
        EXPECT_EQ(f.segments, 2);
    }
}

TEST_F(zero_copy_test, port_without_multi_segment_offload_gets_copies) {
    ASSERT_FALSE(plain_zero_copy(rt->res()));
    const auto content = random_bytes(1300 * 100 + 999, 13);
    const auto frames = send(content, 1300, false);
    expect_file(frames, content, 1300);
    for (const auto& f : frames) {
        EXPECT_EQ(f.segments, 1);
    }
}

TEST_F(zero_copy_test, copies_are_byte_identical_to_chained_frames) {
    // The same block sent both ways differs only in the UFTP sequence number
    // (drawn per packet) and so in the UDP checksum.
    const auto content = random_bytes(1300 * 64, 14);
    const auto chained = send(content, 1300, true);
    rt->res().tx_offload &= ~std::uint64_t{RTE_ETH_TX_OFFLOAD_MULTI_SEGS};
    const auto copied = send(content, 1300, false);
    ASSERT_EQ(chained.size(), copied.size());
    const std::size_t udp_checksum = net::frame_template::udp_offset + 6;
    const std::size_t seq = net::frame_template::header_size + 2; // UFTP header: seq at 2
    for (std::size_t i = 0; i < chained.size(); ++i) {
        auto a = chained[i].bytes;
        auto b = copied[i].bytes;
        ASSERT_EQ(a.size(), b.size());
        for (auto* v : {&a, &b}) {
            (*v)[udp_checksum] = (*v)[udp_checksum + 1] = 0;
            (*v)[seq] = (*v)[seq + 1] = 0;
        }
        EXPECT_EQ(a, b) << "frame " << i;
    }
}

TEST_F(zero_copy_test, asks_for_multi_segment_tx_only_where_frames_are_done_when_sent) {
    rte_eth_dev_info ring{};
    ASSERT_EQ(rte_eth_dev_info_get(rt->res().port, &ring), 0);
    // The ring PMD offers multi-segment TX but hands the mbufs over.
    ASSERT_NE(ring.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS, 0u);
    EXPECT_EQ(zero_copy_tx_offload(true, ring), 0u);

    rte_eth_dev_info af_packet{};
    af_packet.driver_name = "net_af_packet";
    af_packet.tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    EXPECT_EQ(zero_copy_tx_offload(true, af_packet), RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
    EXPECT_EQ(zero_copy_tx_offload(false, af_packet), 0u); // the option off
    af_packet.tx_offload_capa = 0;
    EXPECT_EQ(zero_copy_tx_offload(true, af_packet), 0u); // the device does not offer it

    rte_eth_dev_info nic{};
    nic.driver_name = "net_ice";
    nic.tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    EXPECT_EQ(zero_copy_tx_offload(true, nic), 0u); // file pages not registered for DMA
}

} // namespace
} // namespace skycast::dataplane::testing

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const std::string prefix = "--file-prefix=sky-eal-zc-" + std::to_string(::getpid());
    std::vector<std::string> args{argv[0],       "-l", "0",   "--no-huge", "--no-pci",
                                  "--no-shconf", "-m", "512", prefix,      "--log-level=*:warning"};
    std::vector<char*> eal;
    for (auto& a : args) {
        eal.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
        std::fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
