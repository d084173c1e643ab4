// The capture reader and decode loop behind `skycast decode`: link layers,
// broken frames, IP reassembly, error objects, and that decoding goes on.
#include "control/decode/decode_capture.h"
#include "control/decode/ip_reassembly.h"
#include "protocol/codec.h"
#include "tests/support/pcap_writer.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <sstream>

namespace skycast::decode {
namespace {

using namespace skycast::protocol;
using test_support::frame_bytes;
using json = nlohmann::ordered_json;

std::vector<std::uint8_t> encoded(const datagram& d) {
    std::vector<std::uint8_t> out(max_datagram_size);
    auto n = encode(d, out);
    EXPECT_TRUE(n.ok());
    out.resize(n.ok() ? *n : 0);
    return out;
}

const datagram done{{.seq = 5, .src_id = 0xc0000202, .group_id = 0x11223344},
                    done_msg{.file_id = 1, .section = 0, .client_ids = {0xc0000203}}};

class capture_file : public ::testing::Test {
protected:
    std::string path = (std::filesystem::temp_directory_path() /
                        ("skycast-capture-test-" + std::to_string(::getpid()) + ".pcap"))
                           .string();
    void TearDown() override { std::filesystem::remove(path); }

    // Decodes the file; returns the JSON lines.
    std::vector<json> decode_all(decode_totals& totals, std::uint16_t port = 1044) {
        std::string error;
        auto reader = capture_reader::open_file(path, error);
        EXPECT_TRUE(reader) << error;
        std::ostringstream out;
        totals = decode_capture(*reader, port, {.include_data = true}, out);
        std::vector<json> lines;
        std::istringstream in(out.str());
        for (std::string line; std::getline(in, line);) {
            lines.push_back(json::parse(line));
        }
        return lines;
    }
};

TEST_F(capture_file, decodes_a_plain_frame_with_addresses_and_ports) {
    {
        test_support::pcap_writer w(path);
        w.write(test_support::udp_frame(encoded(done)));
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["type"], "DONE");
    EXPECT_EQ(lines[0]["src"], "192.0.2.2");
    EXPECT_EQ(lines[0]["dst"], "230.5.5.92");
    EXPECT_EQ(lines[0]["sport"], 49152);
    EXPECT_EQ(lines[0]["dport"], 1044);
    EXPECT_EQ(lines[0]["done"]["client_ids"][0], "0xc0000203");
    EXPECT_EQ(lines[0]["header"]["src_id"], "0xc0000202");
    EXPECT_EQ(totals.decoded, 1u);
}

TEST_F(capture_file, reads_vlan_tagged_frames) {
    const auto d = encoded(done);
    const test_support::udp_endpoints e;
    {
        test_support::pcap_writer w(path);
        w.write(test_support::ethernet(
            test_support::ipv4_packet(e, test_support::udp_segment(e, d), 1, 0), 0x0800, 42));
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["type"], "DONE");
}

TEST_F(capture_file, reassembles_ipv4_fragments_in_any_order) {
    std::vector<std::uint8_t> block(8800);
    for (std::size_t i = 0; i < block.size(); ++i) {
        block[i] = static_cast<std::uint8_t>(i * 31);
    }
    const auto d = encoded({{.seq = 1}, fileseg_msg{.file_id = 3, .data = block}});
    auto fragments = test_support::fragmented_udp_frames(d, 1500);
    ASSERT_GT(fragments.size(), 5u);
    std::swap(fragments[1], fragments[4]);
    std::swap(fragments[0], fragments.back());
    {
        test_support::pcap_writer w(path);
        for (const auto& f : fragments) {
            w.write(f);
        }
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["frame"], fragments.size()); // reported on the frame that completes it
    EXPECT_EQ(lines[0]["fileseg"]["data_len"], 8800);
    EXPECT_EQ(lines[0]["fileseg"]["data"], hex(block));
    EXPECT_EQ(totals.fragments, fragments.size() - 1);
    EXPECT_EQ(totals.fragments_lost, 0u);
}

TEST_F(capture_file, a_missing_fragment_is_counted_as_lost_not_decoded) {
    std::vector<std::uint8_t> block(4000, 0x55);
    auto fragments =
        test_support::fragmented_udp_frames(encoded({{}, fileseg_msg{.data = block}}), 1500);
    fragments.erase(fragments.begin() + 1);
    {
        test_support::pcap_writer w(path);
        for (const auto& f : fragments) {
            w.write(f);
        }
        w.write(test_support::udp_frame(encoded(done)));
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["type"], "DONE");
    EXPECT_EQ(totals.fragments_lost, 1u);
}

TEST_F(capture_file, malformed_datagram_gives_an_error_object_and_decoding_goes_on) {
    auto bad = encoded(done);
    bad[17] = 40; // hlen far past the datagram
    {
        test_support::pcap_writer w(path);
        w.write(test_support::udp_frame(bad));
        w.write(test_support::udp_frame(encoded(done)));
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["error"], "hlen_exceeds_datagram");
    EXPECT_FALSE(lines[0]["error_text"].get<std::string>().empty());
    EXPECT_EQ(lines[0]["type"], "DONE"); // what the header claims
    EXPECT_EQ(lines[0]["header"]["seq"], 5);
    EXPECT_EQ(lines[0]["raw"].get<std::string>().size(), bad.size() * 2);
    EXPECT_EQ(lines[1]["type"], "DONE");
    EXPECT_EQ(totals.errors, 1u);
    EXPECT_EQ(totals.decoded, 1u);
}

TEST_F(capture_file, broken_ip_and_udp_headers_are_bad_frames) {
    const test_support::udp_endpoints e;
    const auto d = encoded(done);
    auto udp = test_support::udp_segment(e, d);
    udp[4] = 0xff; // UDP length far beyond the packet
    auto short_ip = test_support::udp_frame(d);
    short_ip[16] = 0x00; // IPv4 total length 0x00xx < header
    short_ip[17] = 0x10;
    {
        test_support::pcap_writer w(path);
        w.write(test_support::ethernet(test_support::ipv4_packet(e, udp, 1, 0)));
        w.write(short_ip);
        w.write(test_support::udp_frame(d), 30); // cut short by the snap length
        w.write(test_support::udp_frame(d));
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 4u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(lines[i]["error"], "bad_frame") << i;
    }
    EXPECT_NE(lines[0]["error_text"].get<std::string>().find("UDP length"), std::string::npos);
    EXPECT_NE(lines[1]["error_text"].get<std::string>().find("IPv4 total length"),
              std::string::npos);
    EXPECT_NE(lines[2]["error_text"].get<std::string>().find("snap length"), std::string::npos);
    EXPECT_EQ(lines[3]["type"], "DONE");
    EXPECT_EQ(totals.bad_frames, 3u);
}

TEST_F(capture_file, other_ports_and_protocols_are_skipped) {
    test_support::udp_endpoints other;
    other.src_port = 5000;
    other.dst_port = 5001;
    const auto d = encoded(done);
    {
        test_support::pcap_writer w(path);
        w.write(test_support::udp_frame(d, other));
        w.write(test_support::ethernet(test_support::ipv4_packet({}, d, 1, 0, 6))); // TCP
        w.write(test_support::ethernet(d, 0x0806));                                 // ARP
        w.write(test_support::udp_frame(d));
    }
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(totals.skipped, 3u);
    // --port picks the other traffic instead.
    lines = decode_all(totals, 5001);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["dport"], 5001);
}

TEST_F(capture_file, a_truncated_capture_file_is_reported_and_reading_stops) {
    {
        test_support::pcap_writer w(path);
        w.write(test_support::udp_frame(encoded(done)));
        w.write(test_support::udp_frame(encoded(done)));
    }
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
    decode_totals totals;
    auto lines = decode_all(totals);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["type"], "DONE");
    EXPECT_EQ(lines[1]["error"], "bad_frame");
    EXPECT_NE(lines[1]["error_text"].get<std::string>().find("unreadable"), std::string::npos);
}

TEST(capture_reader, open_errors_name_the_problem) {
    std::string error;
    EXPECT_FALSE(capture_reader::open_file("/nonexistent/x.pcap", error));
    EXPECT_FALSE(error.empty());
    const std::uint8_t junk[] = {'n', 'o', 't', ' ', 'a', ' ', 'p', 'c', 'a', 'p', 0, 0};
    error.clear();
    EXPECT_FALSE(capture_reader::open_memory(junk, error));
    EXPECT_FALSE(error.empty());
    error.clear();
    EXPECT_FALSE(capture_reader::open_memory({}, error));
    EXPECT_EQ(error, "empty capture");
}

TEST(ip_reassembler, rejects_overlaps_oversize_and_double_ends) {
    ip_reassembler r;
    std::vector<std::uint8_t> out;
    std::string problem;
    const std::uint8_t data[16] = {};
    EXPECT_EQ(r.add({"a", 0, true, data}, out, problem), ip_reassembler::outcome::incomplete);
    EXPECT_EQ(r.add({"a", 8, true, data}, out, problem), ip_reassembler::outcome::invalid);
    EXPECT_EQ(problem, "overlapping IP fragments");
    EXPECT_EQ(r.pending(), 0u);

    EXPECT_EQ(r.add({"b", 65528, true, data}, out, problem), ip_reassembler::outcome::invalid);
    EXPECT_NE(problem.find("65535"), std::string::npos);

    EXPECT_EQ(r.add({"c", 16, false, data}, out, problem), ip_reassembler::outcome::incomplete);
    EXPECT_EQ(r.add({"c", 48, false, data}, out, problem), ip_reassembler::outcome::invalid);

    EXPECT_EQ(r.add({"d", 32, true, data}, out, problem), ip_reassembler::outcome::incomplete);
    EXPECT_EQ(r.add({"d", 0, false, data}, out, problem), ip_reassembler::outcome::invalid);
    EXPECT_EQ(problem, "IP fragment beyond the last fragment's end");
}

TEST(ip_reassembler, keeps_at_most_max_pending_datagrams) {
    ip_reassembler r(4);
    std::vector<std::uint8_t> out;
    std::string problem;
    const std::uint8_t data[8] = {};
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(r.add({std::to_string(i), 0, true, data}, out, problem),
                  ip_reassembler::outcome::incomplete);
    }
    EXPECT_EQ(r.pending(), 4u);
    EXPECT_EQ(r.evicted(), 6u);
    // The newest survive and still complete.
    EXPECT_EQ(r.add({"9", 8, false, data}, out, problem), ip_reassembler::outcome::complete);
    EXPECT_EQ(out.size(), 16u);
}

} // namespace
} // namespace skycast::decode
