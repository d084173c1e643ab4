#include "tests/golden/sample_capture.h"

#include "protocol/codec.h"
#include "tests/support/pcap_writer.h"

#include <algorithm>
#include <pcap/pcap.h>
#include <stdexcept>
#include <vector>

namespace skycast::golden {
namespace {

using namespace skycast::protocol;

bytes rsa_blob(std::size_t modulus_len) {
    bytes b{0x01,
            0x00,
            static_cast<std::uint8_t>(modulus_len >> 8),
            static_cast<std::uint8_t>(modulus_len),
            0x00,
            0x01,
            0x00,
            0x01};
    for (std::size_t i = 0; i < modulus_len; ++i) {
        b.push_back(static_cast<std::uint8_t>(0x80 + i));
    }
    return b;
}

// A P-256 style EC blob: 64-byte X||Y, already a multiple of 4.
bytes ec_blob(std::uint8_t curve) {
    bytes b{0x02, curve, 0x00, 0x40};
    for (int i = 0; i < 64; ++i) {
        b.push_back(static_cast<std::uint8_t>(i * 3));
    }
    return b;
}

bytes pattern(std::size_t n, std::uint8_t seed) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(seed + i * 7);
    }
    return b;
}

ip_address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    ip_address addr;
    addr.bytes[0] = a;
    addr.bytes[1] = b;
    addr.bytes[2] = c;
    addr.bytes[3] = d;
    return addr;
}

std::vector<datagram> sample_datagrams(std::vector<bytes>& storage) {
    const uftp_header server{.seq = 7,
                             .src_id = 0xc0000202,
                             .group_id = 0x1234abcd,
                             .group_inst = 2,
                             .grtt = 157,
                             .gsize = 0x18};
    const uftp_header client{.seq = 3,
                             .src_id = 0xc0000203,
                             .group_id = 0x1234abcd,
                             .group_inst = 2,
                             .grtt = 0,
                             .gsize = 0};
    storage.push_back(pattern(1300, 1)); // FILESEG data
    storage.push_back(pattern(77, 2));   // last, short FILESEG block
    storage.push_back(pattern(1301, 3)); // NAK bitmap of a 10400-block section
    storage.push_back(pattern(3, 4));    // NAK bitmap of a 20-block section
    storage.push_back(pattern(61, 5));   // ENCRYPTED payload, odd length
    storage.push_back(pattern(32, 6));   // ENCRYPTED HMAC
    std::vector<datagram> d;

    announce_msg closed;
    closed.robust = 20;
    closed.block_size = 1300;
    closed.tstamp = {1795246747, 297616};
    closed.public_addr = v4(230, 4, 4, 1);
    closed.private_addr = v4(230, 5, 5, 92);
    closed.enc_info =
        enc_info_ext{.flags = flags::enc_info_client_auth,
                     .keyextype = keyexchange_type::ecdh_ecdsa,
                     .sigtype = signature_type::authenc,
                     .keytype = key_type::aes256_gcm,
                     .hashtype = hash_type::sha256,
                     .rand1 = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
                     .key_blob = ec_blob(23),
                     .dh_blob = ec_blob(23),
                     .signature = pattern(68, 9)};
    closed.client_ids = {0xc0000203, 0xc0000204, 0x0a000001};
    d.push_back({server, closed});

    announce_msg open6;
    open6.flags = flags::announce_ipv6 | flags::announce_sync_mode;
    open6.cc = cc_type::tfmcc;
    open6.block_size = 8800;
    open6.tstamp = {1, 999999};
    open6.public_addr.bytes = {0xff, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x01};
    open6.private_addr.bytes = {0xff, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x5c};
    d.push_back({server, open6});

    d.push_back({client, register_msg{.tstamp = {1795246747, 305093},
                                      .rand2 = {9, 8, 7, 6, 5, 4, 3, 2, 1},
                                      .key_info = ec_blob(23),
                                      .client_ids = {0xc0000210, 0xc0000211}}});
    d.push_back({client, register_msg{.tstamp = {5, 6}}});
    d.push_back({client, client_key_msg{.key_blob = rsa_blob(64), .verify = pattern(64, 11)}});
    d.push_back({server, reg_conf_msg{.client_ids = {0xc0000203}}});
    keyinfo_msg keyinfo{.iv_ctr = 0x0000000100000002ULL, .entries = {}};
    keyinfo.entries.push_back({0xc0000203, {}});
    keyinfo.entries.push_back({0xc0000204, {}});
    keyinfo.entries[0].group_master.fill(0x5a);
    keyinfo.entries[1].group_master.fill(0xa5);
    d.push_back({server, keyinfo});
    d.push_back({client, keyinfo_ack_msg{.verify_data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}});
    d.push_back({server, fileinfo_msg{.file_id = 1,
                                      .ftype = file_type::regular,
                                      .size = 0x123456789abcULL,
                                      .ftstamp = 1795246705,
                                      .tstamp = {1795246712, 60550},
                                      .name = "dir/sub/file1.bin",
                                      .client_ids = {0xc0000203}}});
    d.push_back({server, fileinfo_msg{.file_id = 65535,
                                      .ftype = file_type::symlink,
                                      .ftstamp = 7,
                                      .tstamp = {8, 9},
                                      .name = "link",
                                      .link = "../target/of/the/link"}});
    d.push_back({client, fileinfo_ack_msg{.file_id = 2,
                                          .flags = flags::fileinfo_ack_partial,
                                          .tstamp = {1795246712, 60875},
                                          .client_ids = {0xc0000210}}});
    d.push_back({server, fileseg_msg{.file_id = 1,
                                     .section = 0,
                                     .sec_block = 49,
                                     .tfmcc = tfmcc_data_info_ext{0x3556, 1, 0x481e},
                                     .data = storage[0]}});
    d.push_back(
        {server, fileseg_msg{.file_id = 1, .section = 3, .sec_block = 10399, .data = storage[1]}});
    d.push_back({server, done_msg{.file_id = 1, .section = 2, .client_ids = {0xc0000203}}});
    d.push_back({client, status_msg{.file_id = 1, .section = 1, .naks = storage[2]}});
    d.push_back({client, status_msg{.file_id = 3,
                                    .section = 0,
                                    .tfmcc = tfmcc_ack_info_ext{.flags = flags::tfmcc_rtt |
                                                                         flags::tfmcc_start,
                                                                .cc_seq = 17,
                                                                .cc_rate = 0xbea4,
                                                                .client_id = 0xc0000203,
                                                                .tstamp = {1795246747, 1}},
                                    .naks = storage[3]}});
    d.push_back({client, complete_msg{.file_id = 0, .status = complete_status::normal}});
    d.push_back({client, complete_msg{.file_id = 4,
                                      .status = complete_status::rejected,
                                      .freespace = freespace_info_ext{0x0000123456789abcULL},
                                      .client_ids = {0xc0000210}}});
    d.push_back({server, done_conf_msg{.client_ids = {0xc0000203, 0xc0000204}}});
    d.push_back(
        {client,
         hb_req_msg{.nonce = 0xdeadbeef, .key_blob = rsa_blob(64), .verify = pattern(64, 12)}});
    d.push_back({client, hb_req_msg{}});
    d.push_back({server, hb_resp_msg{.authenticated = hb_auth::challenge, .nonce = 42}});
    d.push_back({uftp_header{.seq = 0, .src_id = 0xc0000203}, key_req_msg{}});
    d.push_back({server, proxy_key_msg{.nonce = 99,
                                       .key_blob = rsa_blob(64),
                                       .dh_blob = ec_blob(24),
                                       .verify = pattern(64, 13)}});
    d.push_back(
        {server, encrypted_msg{.iv_ctr = 5, .signature = storage[5], .payload = storage[4]}});
    d.push_back({client, abort_msg{.flags = flags::abort_current_file,
                                   .host = 0xc0000203,
                                   .message = "Excessive NAKs received"}});
    d.push_back(
        {server, cong_ctrl_msg{.cc_seq = 2,
                               .cc_rate = 0x481e,
                               .tstamp = {1795246748, 441923},
                               .items = {{0xc0000203, 0x07, 0x6a}, {0xc0000204, 0x02, 0x9d}}}});
    d.push_back({client, cc_ack_msg{tfmcc_ack_info_ext{.flags = 0x06,
                                                       .cc_seq = 0,
                                                       .cc_rate = 0xbea4,
                                                       .client_id = 0xc0000202,
                                                       .tstamp = {0x6b014a8c, 0x0006be47}}}});
    return d;
}

} // namespace

int write_sample_capture(const std::string& path) {
    std::vector<bytes> storage;
    const auto datagrams = sample_datagrams(storage);
    test_support::pcap_writer writer(path);
    int index = 0;
    for (const auto& d : datagrams) {
        std::vector<std::uint8_t> buffer(max_datagram_size);
        auto n = encode(d, buffer);
        if (!n) {
            throw std::runtime_error("encode of sample " + std::to_string(index) + " (" +
                                     std::string(name(d.type())) +
                                     ") failed: " + std::string(name(n.error())));
        }
        writer.write(test_support::udp_frame(std::span(buffer).first(*n), {},
                                             static_cast<std::uint16_t>(index)));
        ++index;
    }
    // An 8800-byte block crossing a 1500-byte link as IPv4 fragments, last
    // fragment first: both readers must reassemble it.
    std::vector<std::uint8_t> block(8800);
    for (std::size_t i = 0; i < block.size(); ++i) {
        block[i] = static_cast<std::uint8_t>(i * 13);
    }
    std::vector<std::uint8_t> buffer(max_datagram_size);
    auto n = encode(uftp_header{.seq = 99, .src_id = 0xc0000202},
                    fileseg_msg{.file_id = 9, .section = 1, .sec_block = 2, .data = block}, buffer);
    if (!n) {
        throw std::runtime_error("encode of the fragmented FILESEG failed");
    }
    auto fragments = test_support::fragmented_udp_frames(std::span(buffer).first(*n), 1500);
    std::reverse(fragments.begin(), fragments.end());
    for (const auto& f : fragments) {
        writer.write(f);
    }
    return index + 1;
}

} // namespace skycast::golden
