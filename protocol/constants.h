#pragma once
// UFTP 4 protocol constants as the stock 4.10.2 binaries use them
// (docs/protocol.md §1.2, §1.3, §2.18).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skycast::protocol {

inline constexpr std::uint8_t uftp_version = 0x40; // protocol.txt's 0x30 is UFTP 3 (spec §14 #1)
inline constexpr std::size_t uftp_header_size = 16;
inline constexpr std::uint16_t default_port = 1044;

// The largest datagram the stock code reads, and so the largest we build.
inline constexpr std::size_t max_datagram_size = 9000;
inline constexpr std::uint16_t min_block_size = 512;
inline constexpr std::uint16_t max_block_size = 8800;
inline constexpr std::uint16_t default_block_size = 1300;
// FILEINFO name and link target limit, checked by stock clients.
inline constexpr std::size_t max_path_bytes = 300;
// ABORT carries a fixed 300-byte, NUL-terminated reason field.
inline constexpr std::size_t abort_reason_field = 300;

enum class message_type : std::uint8_t {
    announce = 1,
    register_ = 2,
    client_key = 3,
    reg_conf = 4,
    keyinfo = 5,
    keyinfo_ack = 6,
    fileinfo = 7,
    fileinfo_ack = 8,
    fileseg = 9,
    done = 10,
    status = 11,
    complete = 12,
    done_conf = 13,
    hb_req = 14,
    hb_resp = 15,
    key_req = 16,
    proxy_key = 17,
    encrypted = 18,
    abort = 19,
    cong_ctrl = 20,
    cc_ack = 21,
};
inline constexpr std::uint8_t first_message_type = 1;
inline constexpr std::uint8_t last_message_type = 21;

// Upper-case UFTP name ("ANNOUNCE", "FILEINFO_ACK", ...), or "UNKNOWN".
std::string_view name(message_type t);

// A server's handshake: ANNOUNCE, KEYINFO, REG_CONF, never sealed and a few
// per session. Proxies read these themselves; everything else a server sends
// they may pass on as it is (the dataplane's forwarding rule and the proxy
// engines decide by this one test).
constexpr bool is_server_handshake(message_type t) {
    return t == message_type::announce || t == message_type::keyinfo || t == message_type::reg_conf;
}

enum class extension_type : std::uint8_t {
    enc_info = 1,
    tfmcc_data_info = 2,
    tfmcc_ack_info = 3,
    // 4..6 are EXT_PGMCC_*: defined upstream, never sent.
    freespace_info = 7,
    // Skycast's own (docs/protocol.md §17): FEC parity in this session. Far
    // from upstream's numbers; stock receivers look only at EXT_ENC_INFO.
    skycast_fec = 0x80,
    // Skycast's own (docs/protocol.md §18): this sender takes receivers'
    // overload reports; without it a receiver sends none.
    skycast_overload = 0x81,
    // Skycast's own (docs/protocol.md §19): this sender takes STATUS NAK
    // lists from receivers that got this ANNOUNCE straight from it.
    skycast_nak_list = 0x82,
    // Skycast's own (docs/protocol.md §22): the ID of the session's last
    // file, so a receiver that got this ANNOUNCE straight from the sender
    // may send COMPLETE(0) with its COMPLETE for that file.
    skycast_last_file = 0x83,
};

enum class key_type : std::uint8_t {
    none = 0,
    des = 1,
    des_ede3 = 2,
    aes128_cbc = 3,
    aes256_cbc = 4,
    aes128_gcm = 5,
    aes256_gcm = 6,
    aes128_ccm = 7,
    aes256_ccm = 8,
};

enum class hash_type : std::uint8_t {
    none = 0,
    md5 = 1,
    sha1 = 2,
    sha256 = 3,
    sha384 = 4,
    sha512 = 5,
};

enum class signature_type : std::uint8_t {
    none = 0,
    hmac = 1,
    keyex = 2,
    authenc = 3,
};

enum class keyexchange_type : std::uint8_t {
    none = 0,
    rsa = 1,
    ecdh_rsa = 2,
    ecdh_ecdsa = 3,
};
// Both ECDH modes: the client's key block is an ECDH public key, and the
// ANNOUNCE carries the server's ECDH key (spec §2.3).
constexpr bool is_ecdh(keyexchange_type k) {
    return k == keyexchange_type::ecdh_rsa || k == keyexchange_type::ecdh_ecdsa;
}

enum class keyblob_type : std::uint8_t {
    rsa = 1,
    ec = 2,
};

enum class cc_type : std::uint8_t {
    none = 0,
    uftp3 = 1,
    tfmcc = 2,
    pgmcc = 3,
};

enum class file_type : std::uint8_t {
    regular = 0,
    directory = 1,
    symlink = 2,
    delete_ = 3,
    freespace = 4,
};

enum class complete_status : std::uint8_t {
    normal = 0,
    skipped = 1,
    overwrite = 2,
    rejected = 3,
};

enum class hb_auth : std::uint8_t {
    failed = 0,
    ok = 1,
    challenge = 2,
};

// Flag bits, by the field they live in.
namespace flags {
inline constexpr std::uint8_t announce_sync_mode = 0x01;
inline constexpr std::uint8_t announce_sync_preview = 0x02;
inline constexpr std::uint8_t announce_ipv6 = 0x04;
inline constexpr std::uint8_t enc_info_client_auth = 0x01;
inline constexpr std::uint8_t fileinfo_ack_partial = 0x01;
inline constexpr std::uint8_t abort_current_file = 0x01;
inline constexpr std::uint8_t tfmcc_clr = 0x01;
inline constexpr std::uint8_t tfmcc_rtt = 0x02;
inline constexpr std::uint8_t tfmcc_start = 0x04;
inline constexpr std::uint8_t tfmcc_leave = 0x08;
} // namespace flags

} // namespace skycast::protocol
