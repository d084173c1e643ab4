#pragma once
// The UFTP 4 header, extensions and all 21 messages as plain structs
// (docs/protocol.md §1.2, §2).
//
// Conventions:
// - Lengths that the wire derives from the data (hlen, name lengths, blob and
//   signature lengths, key-info length) are not fields: the encoder computes
//   them and the decoder checks them, so a struct cannot disagree with itself.
// - Reserved bytes are written as zero and ignored on reading.
// - Control-plane messages own their variable parts (vectors, strings).
//   FILESEG, STATUS and ENCRYPTED, which sit on the data path, hold spans into
//   the datagram instead: decoding them allocates nothing, and the spans are
//   valid only as long as the datagram's buffer.

#include "protocol/constants.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace skycast::protocol {

using bytes = std::vector<std::uint8_t>;
using client_id_list = std::vector<std::uint32_t>;

// The 16-byte UFTP header. The version byte (always 0x40) and the function
// code (taken from the message) are not stored.
struct uftp_header {
    std::uint16_t seq = 0;
    std::uint32_t src_id = 0;
    std::uint32_t group_id = 0;
    std::uint8_t group_inst = 0;
    std::uint8_t grtt = 0;  // quantized, see quantize.h; 0 from clients
    std::uint8_t gsize = 0; // quantized, see quantize.h; 0 from clients
    bool operator==(const uftp_header&) const = default;
};

struct timestamp {
    std::uint32_t sec = 0;
    std::uint32_t usec = 0;
    bool operator==(const timestamp&) const = default;
};

// An IPv4 address uses the first 4 bytes; the ANNOUNCE IPv6 flag says which.
struct ip_address {
    std::array<std::uint8_t, 16> bytes{};
    // The address of `host_order`, an IPv4 address in host order.
    static ip_address from_ipv4(std::uint32_t host_order) {
        ip_address a;
        for (int i = 0; i < 4; ++i) {
            a.bytes[i] = static_cast<std::uint8_t>(host_order >> (24 - 8 * i));
        }
        return a;
    }
    // An IPv4 address (the first four bytes), host order.
    std::uint32_t ipv4() const {
        return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
               (std::uint32_t{bytes[2]} << 8) | bytes[3];
    }
    bool operator==(const ip_address&) const = default;
};

// EXT_SKYCAST_FEC (type 0x80), Skycast's ANNOUNCE extension (docs/protocol.md
// §17): the session sends Reed–Solomon parity over groups of `group_blocks`
// data blocks, as PARITY datagrams to the private group's `parity_port`.
struct fec_info_ext {
    std::uint8_t version = 2;
    std::uint8_t group_blocks = 0; // k, 1..254
    std::uint16_t parity_port = 0;
    // Version 2: groups interleaved per span (protocol/fec_groups.h); 1 =
    // groups of consecutive blocks, which is all version 1 knows.
    std::uint16_t span_groups = 1;
    bool operator==(const fec_info_ext&) const = default;
};

// EXT_ENC_INFO (type 1), carried by ANNOUNCE (§2.1.1).
struct enc_info_ext {
    std::uint8_t flags = 0; // flags::enc_info_client_auth
    keyexchange_type keyextype = keyexchange_type::none;
    signature_type sigtype = signature_type::none;
    key_type keytype = key_type::none;
    hash_type hashtype = hash_type::none;
    std::array<std::uint8_t, 32> rand1{};
    bytes key_blob;  // server public key blob
    bytes dh_blob;   // server ephemeral ECDH key blob (ECDH modes)
    bytes signature; // over the whole datagram with this field zeroed (ECDH modes)
    bool operator==(const enc_info_ext&) const = default;
};

// EXT_TFMCC_DATA_INFO (type 2), carried by FILESEG (§2.9). Rates are quantized.
struct tfmcc_data_info_ext {
    std::uint16_t send_rate = 0;
    std::uint16_t cc_seq = 0;
    std::uint16_t cc_rate = 0;
    bool operator==(const tfmcc_data_info_ext&) const = default;
};

// EXT_TFMCC_ACK_INFO (type 3), carried by STATUS and CC_ACK (§2.12).
struct tfmcc_ack_info_ext {
    std::uint8_t flags = 0; // flags::tfmcc_*
    std::uint16_t cc_seq = 0;
    std::uint16_t cc_rate = 0; // quantized
    std::uint32_t client_id = 0;
    timestamp tstamp;
    bool operator==(const tfmcc_ack_info_ext&) const = default;
};

// EXT_FREESPACE_INFO (type 7), carried by COMPLETE (§2.13).
struct freespace_info_ext {
    std::uint64_t freespace = 0;
    bool operator==(const freespace_info_ext&) const = default;
};

struct announce_msg {
    std::uint8_t flags = 0; // flags::announce_*; announce_ipv6 sets the address size
    std::uint8_t robust = 20;
    cc_type cc = cc_type::none;
    std::uint16_t block_size = default_block_size;
    timestamp tstamp;
    ip_address public_addr;
    ip_address private_addr;
    std::optional<enc_info_ext> enc_info;
    std::optional<fec_info_ext> fec_info; // after EXT_ENC_INFO: stock reads only the first
    // EXT_SKYCAST_OVERLOAD (docs/protocol.md §18): the sender takes overload
    // reports (a STATUS without NAKs) as a rate signal, never as an answer.
    bool takes_overload_reports = false;
    // EXT_SKYCAST_NAK_LIST (docs/protocol.md §19): the sender's own IPv4
    // address (host order). A receiver that got this ANNOUNCE from that
    // address, not through a proxy, may send its STATUS as a NAK list.
    std::optional<std::uint32_t> nak_lists_from;
    // EXT_SKYCAST_LAST_FILE (docs/protocol.md §22): the session's last file
    // ID. A receiver that got this ANNOUNCE straight from the sender (the
    // address nak_lists_from names) sends COMPLETE(0) with its COMPLETE for
    // that file, a round trip before the sender's DONE(0) would ask.
    std::optional<std::uint16_t> last_file_id;
    client_id_list client_ids; // empty: open group
    bool ipv6() const { return (flags & flags::announce_ipv6) != 0; }
    bool operator==(const announce_msg&) const = default;
};

struct register_msg {
    timestamp tstamp; // echoed server timestamp
    std::array<std::uint8_t, 32> rand2{};
    bytes key_info;            // RSA-encrypted premaster or client ECDH blob
    client_id_list client_ids; // clients a proxy registers for
    bool operator==(const register_msg&) const = default;
};

struct client_key_msg {
    bytes key_blob;
    bytes verify; // signature over verify data 1 (§5.7)
    bool operator==(const client_key_msg&) const = default;
};

struct reg_conf_msg {
    client_id_list client_ids;
    bool operator==(const reg_conf_msg&) const = default;
};

struct keyinfo_entry {
    std::uint32_t dest_id = 0;
    std::array<std::uint8_t, 48> group_master{}; // encrypted
    bool operator==(const keyinfo_entry&) const = default;
};

struct keyinfo_msg {
    std::uint64_t iv_ctr = 0;
    std::vector<keyinfo_entry> entries;
    bool operator==(const keyinfo_msg&) const = default;
};

struct keyinfo_ack_msg {
    std::array<std::uint8_t, 12> verify_data{};
    bool operator==(const keyinfo_ack_msg&) const = default;
};

struct fileinfo_msg {
    std::uint16_t file_id = 0;
    file_type ftype = file_type::regular;
    std::uint64_t size = 0;    // 48 bits on the wire
    std::uint32_t ftstamp = 0; // file mtime, Unix seconds
    // Skycast: the file's permission bits (07777), carried in FILEINFO's three
    // reserved bytes (byte 5 = 0x01 "mode present", bytes 6-7 the mode), which
    // stock 4.10.x sends as zero and ignores: UFTP 4 has no field for them,
    // and FILEINFO may carry no extensions (spec §14 #14). nullopt: not sent.
    std::optional<std::uint16_t> mode;
    timestamp tstamp;
    std::string name; // '/'-separated relative path
    std::string link; // symlink target, empty otherwise
    client_id_list client_ids;
    bool operator==(const fileinfo_msg&) const = default;
};

struct fileinfo_ack_msg {
    std::uint16_t file_id = 0;
    std::uint8_t flags = 0; // flags::fileinfo_ack_partial
    timestamp tstamp;       // echoed
    client_id_list client_ids;
    bool operator==(const fileinfo_ack_msg&) const = default;
};

struct fileseg_msg {
    std::uint16_t file_id = 0;
    std::uint16_t section = 0;
    std::uint16_t sec_block = 0; // block number within the section
    std::optional<tfmcc_data_info_ext> tfmcc;
    std::span<const std::uint8_t> data; // view into the datagram
    bool operator==(const fileseg_msg& o) const {
        return file_id == o.file_id && section == o.section && sec_block == o.sec_block &&
               tfmcc == o.tfmcc && std::ranges::equal(data, o.data);
    }
};

struct done_msg {
    std::uint16_t file_id = 0; // 0 starts the completion phase
    std::uint16_t section = 0; // the file's last section
    client_id_list client_ids;
    bool operator==(const done_msg&) const = default;
};

struct status_msg {
    std::uint16_t file_id = 0;
    std::uint16_t section = 0;
    std::optional<tfmcc_ack_info_ext> tfmcc;
    std::span<const std::uint8_t> naks; // NAK bitmap, see nak_bitmap.h; view into the datagram
    // Skycast (docs/protocol.md §17): the NAK bits count the parity blocks each
    // FEC group still needs, not which data blocks are missing. Carried in
    // the reserved field, which stock sends as zero and ignores.
    bool fec_deficit = false;
    // Skycast (docs/protocol.md §19): `naks` is a NAK list (nak_list.h), not
    // a bitmap. Only to a sender whose ANNOUNCE offered it.
    bool nak_list = false;
    bool operator==(const status_msg& o) const {
        return file_id == o.file_id && section == o.section && fec_deficit == o.fec_deficit &&
               nak_list == o.nak_list && tfmcc == o.tfmcc && std::ranges::equal(naks, o.naks);
    }
};

struct complete_msg {
    std::uint16_t file_id = 0;
    complete_status status = complete_status::normal;
    std::optional<freespace_info_ext> freespace;
    client_id_list client_ids;
    bool operator==(const complete_msg&) const = default;
};

struct done_conf_msg {
    client_id_list client_ids;
    bool operator==(const done_conf_msg&) const = default;
};

struct hb_req_msg {
    std::uint32_t nonce = 0;
    bytes key_blob;
    bytes verify; // signature of the nonce
    bool operator==(const hb_req_msg&) const = default;
};

struct hb_resp_msg {
    hb_auth authenticated = hb_auth::failed;
    std::uint32_t nonce = 0;
    bool operator==(const hb_resp_msg&) const = default;
};

struct key_req_msg {
    bool operator==(const key_req_msg&) const = default;
};

struct proxy_key_msg {
    std::uint32_t nonce = 0;
    bytes key_blob;
    bytes dh_blob;
    bytes verify; // signature of the nonce
    bool operator==(const proxy_key_msg&) const = default;
};

// The outer fields of an ENCRYPTED datagram (§5.8). The UFTP header of an
// ENCRYPTED datagram is the inner message's, with func = 18.
struct encrypted_msg {
    std::uint64_t iv_ctr = 0;
    std::span<const std::uint8_t> signature; // view into the datagram
    std::span<const std::uint8_t> payload;   // ciphertext (+ tag); view into the datagram
    bool operator==(const encrypted_msg& o) const {
        return iv_ctr == o.iv_ctr && std::ranges::equal(signature, o.signature) &&
               std::ranges::equal(payload, o.payload);
    }
};

struct abort_msg {
    std::uint8_t flags = 0; // flags::abort_current_file
    std::uint32_t host = 0; // UID aborted, 0 = everyone / the sender itself
    std::string message;    // at most 299 bytes on encode
    bool operator==(const abort_msg&) const = default;
};

struct cc_item {
    std::uint32_t dest_id = 0;
    std::uint8_t flags = 0; // flags::tfmcc_clr, tfmcc_rtt, tfmcc_start
    std::uint8_t rtt = 0;   // quantized like GRTT
    bool operator==(const cc_item&) const = default;
};

struct cong_ctrl_msg {
    std::uint16_t cc_seq = 0;
    std::uint16_t cc_rate = 0; // quantized
    timestamp tstamp;
    std::vector<cc_item> items;
    bool operator==(const cong_ctrl_msg&) const = default;
};

struct cc_ack_msg {
    tfmcc_ack_info_ext tfmcc;
    bool operator==(const cc_ack_msg&) const = default;
};

// Alternatives in function-code order: index + 1 == the message_type value.
using message =
    std::variant<announce_msg, register_msg, client_key_msg, reg_conf_msg, keyinfo_msg,
                 keyinfo_ack_msg, fileinfo_msg, fileinfo_ack_msg, fileseg_msg, done_msg, status_msg,
                 complete_msg, done_conf_msg, hb_req_msg, hb_resp_msg, key_req_msg, proxy_key_msg,
                 encrypted_msg, abort_msg, cong_ctrl_msg, cc_ack_msg>;
static_assert(std::variant_size_v<message> == last_message_type);

inline message_type type_of(const message& m) {
    return static_cast<message_type>(m.index() + 1);
}

struct datagram {
    uftp_header header;
    message body;
    message_type type() const { return type_of(body); }
    bool operator==(const datagram&) const = default;
};

} // namespace skycast::protocol
