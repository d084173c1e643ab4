// Golden tests: `skycast decode` against Wireshark's independent uftp4
// dissector. For every frame of the two reference captures of stock 4.10.2
// (tests/data/) and of a capture of every message type written by our own
// encoder, every uftp4.* field tshark reports must equal ours. A tshark field
// with no counterpart in our output fails the test too, so nothing is skipped
// by accident; the few fields deliberately not compared are listed, with why.
#include "control/decode/decode_capture.h"
#include "tests/golden/sample_capture.h"
#include "tests/golden/tshark_fields.h"

#include <cmath>
#include <ctime>
#include <filesystem>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

namespace skycast::golden {
namespace {

using json = nlohmann::ordered_json;

enum class kind {
    integer,        // decimal or 0x-hex on either side
    words_as_bytes, // ours counts 4-byte words, tshark bytes
    boolean,        // ours true/false, tshark 0/1
    bytes,          // ours plain hex, tshark colon-separated hex
    text,
    seconds,      // floating point seconds
    timestamp,    // ours <ptr>_sec and <ptr>_usec, tshark a UTC date
    unix_seconds, // ours whole seconds, tshark a UTC date
    rate,         // ours the quantized 16-bit rate; tshark its value truncated,
                  // then cut to 32 bits (0x481E shows as 1984045160)
};

struct field_map {
    const char* tshark; // tshark field abbreviation
    const char* ours;   // JSON pointer into our object; "{msg}" = message key, "*" = each item
    kind how;
    const char* only_if = nullptr; // pointer to a boolean that must be true
};

// In tshark's order where one tshark field has several sources (key blob
// before ECDH blob).
const field_map fields[] = {
    {"uftp4.version", "/header/version", kind::integer},
    {"uftp4.func", "/header/func", kind::integer},
    {"uftp4.seq", "/header/seq", kind::integer},
    {"uftp4.src_id", "/header/src_id", kind::integer},
    {"uftp4.group_id", "/header/group_id", kind::integer},
    {"uftp4.group_inst", "/header/group_inst", kind::integer},
    {"uftp4.grtt", "/header/grtt_seconds", kind::seconds},
    {"uftp4.gsize", "/header/gsize_clients", kind::integer},
    {"uftp4.dest", "/{msg}/client_ids/*", kind::integer},
    // ANNOUNCE and EXT_ENC_INFO
    {"uftp4.announce.func", "/announce/func", kind::integer},
    {"uftp4.announce.hlen", "/announce/hlen", kind::words_as_bytes},
    {"uftp4.announce.flags", "/announce/flags", kind::integer},
    {"uftp4.announce.flags.sync", "/announce/sync_mode", kind::boolean},
    {"uftp4.announce.flags.syncpreview", "/announce/sync_preview", kind::boolean},
    {"uftp4.announce.flags.ipv6", "/announce/ipv6", kind::boolean},
    {"uftp4.announce.robust", "/announce/robust", kind::integer},
    {"uftp4.announce.cc_type", "/announce/cc_type", kind::integer},
    {"uftp4.announce.blocksize", "/announce/block_size", kind::integer},
    {"uftp4.announce.tstamp", "/announce/tstamp", kind::timestamp},
    {"uftp4.announce.publicmcast.ipv4", "/announce/public_addr", kind::text, "!/announce/ipv6"},
    {"uftp4.announce.publicmcast.ipv6", "/announce/public_addr", kind::text, "/announce/ipv6"},
    {"uftp4.announce.privatemcast.ipv4", "/announce/private_addr", kind::text, "!/announce/ipv6"},
    {"uftp4.announce.privatemcast.ipv6", "/announce/private_addr", kind::text, "/announce/ipv6"},
    {"uftp4.encinfo.exttype", "/announce/enc_info/ext_type", kind::integer},
    {"uftp4.encinfo.extlen", "/announce/enc_info/ext_len", kind::words_as_bytes},
    {"uftp4.encinfo.flags", "/announce/enc_info/flags", kind::integer},
    {"uftp4.encinfo.flags.client_auth", "/announce/enc_info/client_auth", kind::boolean},
    {"uftp4.encinfo.keyextype", "/announce/enc_info/keyex_type", kind::integer},
    {"uftp4.encinfo.sigtype", "/announce/enc_info/sig_type", kind::integer},
    {"uftp4.encinfo.keytype", "/announce/enc_info/key_type", kind::integer},
    {"uftp4.encinfo.hashtype", "/announce/enc_info/hash_type", kind::integer},
    {"uftp4.encinfo.keylen", "/announce/enc_info/key_len", kind::integer},
    {"uftp4.encinfo.dhlen", "/announce/enc_info/dh_len", kind::integer},
    {"uftp4.encinfo.siglen", "/announce/enc_info/sig_len", kind::integer},
    {"uftp4.encinfo.rand1", "/announce/enc_info/rand1", kind::bytes},
    {"uftp4.encinfo.sig", "/announce/enc_info/signature", kind::bytes},
    // Key blobs, wherever they are carried.
    {"uftp4.rsablob.blobtype", "/{msg}/enc_info/key_blob/rsa/blob_type", kind::integer},
    {"uftp4.rsablob.blobtype", "/{msg}/key_blob/rsa/blob_type", kind::integer},
    {"uftp4.rsablob.modlen", "/{msg}/enc_info/key_blob/rsa/modulus_len", kind::integer},
    {"uftp4.rsablob.modlen", "/{msg}/key_blob/rsa/modulus_len", kind::integer},
    {"uftp4.rsablob.exponent", "/{msg}/enc_info/key_blob/rsa/exponent", kind::integer},
    {"uftp4.rsablob.exponent", "/{msg}/key_blob/rsa/exponent", kind::integer},
    {"uftp4.rsablob.modulus", "/{msg}/enc_info/key_blob/rsa/modulus", kind::bytes},
    {"uftp4.rsablob.modulus", "/{msg}/key_blob/rsa/modulus", kind::bytes},
    {"uftp4.ecblob.blobtype", "/{msg}/enc_info/key_blob/ec/blob_type", kind::integer},
    {"uftp4.ecblob.blobtype", "/{msg}/key_blob/ec/blob_type", kind::integer},
    {"uftp4.ecblob.blobtype", "/{msg}/enc_info/dh_blob/ec/blob_type", kind::integer},
    {"uftp4.ecblob.blobtype", "/{msg}/dh_blob/ec/blob_type", kind::integer},
    {"uftp4.ecblob.curve", "/{msg}/enc_info/key_blob/ec/curve", kind::integer},
    {"uftp4.ecblob.curve", "/{msg}/key_blob/ec/curve", kind::integer},
    {"uftp4.ecblob.curve", "/{msg}/enc_info/dh_blob/ec/curve", kind::integer},
    {"uftp4.ecblob.curve", "/{msg}/dh_blob/ec/curve", kind::integer},
    {"uftp4.ecblob.keylen", "/{msg}/enc_info/key_blob/ec/key_len", kind::integer},
    {"uftp4.ecblob.keylen", "/{msg}/key_blob/ec/key_len", kind::integer},
    {"uftp4.ecblob.keylen", "/{msg}/enc_info/dh_blob/ec/key_len", kind::integer},
    {"uftp4.ecblob.keylen", "/{msg}/dh_blob/ec/key_len", kind::integer},
    {"uftp4.ecblob.key", "/{msg}/enc_info/key_blob/ec/key", kind::bytes},
    {"uftp4.ecblob.key", "/{msg}/key_blob/ec/key", kind::bytes},
    {"uftp4.ecblob.key", "/{msg}/enc_info/dh_blob/ec/key", kind::bytes},
    {"uftp4.ecblob.key", "/{msg}/dh_blob/ec/key", kind::bytes},
    // REGISTER, CLIENT_KEY, REG_CONF, KEYINFO, KEYINFO_ACK
    {"uftp4.register.func", "/register/func", kind::integer},
    {"uftp4.register.hlen", "/register/hlen", kind::words_as_bytes},
    {"uftp4.register.keyinfo_len", "/register/key_info_len", kind::integer},
    {"uftp4.register.tstamp", "/register/tstamp", kind::timestamp},
    {"uftp4.register.rand2", "/register/rand2", kind::bytes},
    {"uftp4.register.keyinfo", "/register/key_info", kind::bytes},
    {"uftp4.clientkey.func", "/client_key/func", kind::integer},
    {"uftp4.clientkey.hlen", "/client_key/hlen", kind::words_as_bytes},
    {"uftp4.clientkey.bloblen", "/client_key/blob_len", kind::integer},
    {"uftp4.clientkey.siglen", "/client_key/sig_len", kind::integer},
    {"uftp4.clientkey.verify", "/client_key/verify", kind::bytes},
    {"uftp4.regconf.func", "/reg_conf/func", kind::integer},
    {"uftp4.regconf.hlen", "/reg_conf/hlen", kind::words_as_bytes},
    {"uftp4.keyinfo.func", "/keyinfo/func", kind::integer},
    {"uftp4.keyinfo.hlen", "/keyinfo/hlen", kind::words_as_bytes},
    {"uftp4.keyinfo.ivctr", "/keyinfo/iv_ctr", kind::integer},
    {"uftp4.keyinfo.destid", "/keyinfo/entries/*/dest_id", kind::integer},
    {"uftp4.keyinfo.groupmaster", "/keyinfo/entries/*/group_master", kind::bytes},
    {"uftp4.keyinfoack.func", "/keyinfo_ack/func", kind::integer},
    {"uftp4.keyinfoack.hlen", "/keyinfo_ack/hlen", kind::words_as_bytes},
    {"uftp4.keyinfoack.verify_data", "/keyinfo_ack/verify_data", kind::bytes},
    // FILEINFO, FILEINFO_ACK, FILESEG, DONE, STATUS, COMPLETE, DONE_CONF
    {"uftp4.fileinfo.func", "/fileinfo/func", kind::integer},
    {"uftp4.fileinfo.hlen", "/fileinfo/hlen", kind::words_as_bytes},
    {"uftp4.fileinfo.file_id", "/fileinfo/file_id", kind::integer},
    {"uftp4.fileinfo.ftype", "/fileinfo/ftype", kind::integer},
    {"uftp4.fileinfo.namelen", "/fileinfo/name_len", kind::integer},
    {"uftp4.fileinfo.linklen", "/fileinfo/link_len", kind::integer},
    {"uftp4.fileinfo.fsize", "/fileinfo/size", kind::integer},
    {"uftp4.fileinfo.ftstamp", "/fileinfo/ftstamp", kind::unix_seconds},
    {"uftp4.fileinfo.tstamp", "/fileinfo/tstamp", kind::timestamp},
    {"uftp4.fileinfo.name", "/fileinfo/name", kind::text},
    {"uftp4.fileinfo.link", "/fileinfo/link", kind::text},
    {"uftp4.fileinfoack.func", "/fileinfo_ack/func", kind::integer},
    {"uftp4.fileinfoack.hlen", "/fileinfo_ack/hlen", kind::words_as_bytes},
    {"uftp4.fileinfoack.file_id", "/fileinfo_ack/file_id", kind::integer},
    {"uftp4.fileinfoack.flags", "/fileinfo_ack/flags", kind::integer},
    {"uftp4.fileinfoack.flags.partial", "/fileinfo_ack/partial", kind::boolean},
    {"uftp4.fileinfoack.tstamp", "/fileinfo_ack/tstamp", kind::timestamp},
    {"uftp4.fileseg.func", "/fileseg/func", kind::integer},
    {"uftp4.fileseg.hlen", "/fileseg/hlen", kind::words_as_bytes},
    {"uftp4.fileseg.file_id", "/fileseg/file_id", kind::integer},
    {"uftp4.fileseg.section", "/fileseg/section", kind::integer},
    {"uftp4.fileseg.sec_block", "/fileseg/sec_block", kind::integer},
    {"uftp4.fileseg.data", "/fileseg/data", kind::bytes},
    {"uftp4.tfmccdata.exttype", "/fileseg/tfmcc/ext_type", kind::integer},
    {"uftp4.tfmccdata.extlen", "/fileseg/tfmcc/ext_len", kind::words_as_bytes},
    {"uftp4.tfmccdata.send_rate", "/fileseg/tfmcc/send_rate", kind::rate},
    {"uftp4.tfmccdata.cc_seq", "/fileseg/tfmcc/cc_seq", kind::integer},
    {"uftp4.tfmccdata.cc_rate", "/fileseg/tfmcc/cc_rate", kind::rate},
    {"uftp4.done.func", "/done/func", kind::integer},
    {"uftp4.done.hlen", "/done/hlen", kind::words_as_bytes},
    {"uftp4.done.file_id", "/done/file_id", kind::integer},
    {"uftp4.done.section", "/done/section", kind::integer},
    {"uftp4.status.func", "/status/func", kind::integer},
    {"uftp4.status.hlen", "/status/hlen", kind::words_as_bytes},
    {"uftp4.status.file_id", "/status/file_id", kind::integer},
    {"uftp4.status.section", "/status/section", kind::integer},
    {"uftp4.status.naks", "/status/naks", kind::bytes},
    {"uftp4.complete.func", "/complete/func", kind::integer},
    {"uftp4.complete.hlen", "/complete/hlen", kind::words_as_bytes},
    {"uftp4.complete.file_id", "/complete/file_id", kind::integer},
    {"uftp4.complete.status", "/complete/status", kind::integer},
    {"uftp4.freespace.exttype", "/complete/freespace_info/ext_type", kind::integer},
    {"uftp4.freespace.extlen", "/complete/freespace_info/ext_len", kind::words_as_bytes},
    {"uftp4.freespace.freespace", "/complete/freespace_info/freespace", kind::integer},
    {"uftp4.doneconf.func", "/done_conf/func", kind::integer},
    {"uftp4.doneconf.hlen", "/done_conf/hlen", kind::words_as_bytes},
    // TFMCC feedback, in STATUS and CC_ACK
    {"uftp4.tfmccack.exttype", "/status/tfmcc/ext_type", kind::integer},
    {"uftp4.tfmccack.extlen", "/status/tfmcc/ext_len", kind::words_as_bytes},
    {"uftp4.tfmccack.flags", "/status/tfmcc/flags", kind::integer},
    {"uftp4.tfmccack.flags.clr", "/status/tfmcc/clr", kind::boolean},
    {"uftp4.tfmccack.flags.rtt", "/status/tfmcc/rtt", kind::boolean},
    {"uftp4.tfmccack.flags.start", "/status/tfmcc/start", kind::boolean},
    {"uftp4.tfmccack.flags.leave", "/status/tfmcc/leave", kind::boolean},
    {"uftp4.tfmccack.cc_seq", "/status/tfmcc/cc_seq", kind::integer},
    {"uftp4.tfmccack.cc_rate", "/status/tfmcc/cc_rate", kind::rate},
    {"uftp4.tfmccack.client_id", "/status/tfmcc/client_id", kind::integer},
    {"uftp4.tfmccack.tstamp", "/status/tfmcc/tstamp", kind::timestamp},
    {"uftp4.tfmccack.exttype", "/cc_ack/tfmcc/ext_type", kind::integer},
    {"uftp4.tfmccack.extlen", "/cc_ack/tfmcc/ext_len", kind::words_as_bytes},
    {"uftp4.tfmccack.flags", "/cc_ack/tfmcc/flags", kind::integer},
    {"uftp4.tfmccack.flags.clr", "/cc_ack/tfmcc/clr", kind::boolean},
    {"uftp4.tfmccack.flags.rtt", "/cc_ack/tfmcc/rtt", kind::boolean},
    {"uftp4.tfmccack.flags.start", "/cc_ack/tfmcc/start", kind::boolean},
    {"uftp4.tfmccack.flags.leave", "/cc_ack/tfmcc/leave", kind::boolean},
    {"uftp4.tfmccack.cc_seq", "/cc_ack/tfmcc/cc_seq", kind::integer},
    {"uftp4.tfmccack.cc_rate", "/cc_ack/tfmcc/cc_rate", kind::rate},
    {"uftp4.tfmccack.client_id", "/cc_ack/tfmcc/client_id", kind::integer},
    {"uftp4.tfmccack.tstamp", "/cc_ack/tfmcc/tstamp", kind::timestamp},
    // Proxies and heartbeats
    {"uftp4.hbreq.func", "/hb_req/func", kind::integer},
    {"uftp4.hbreq.hlen", "/hb_req/hlen", kind::words_as_bytes},
    {"uftp4.hbreq.bloblen", "/hb_req/blob_len", kind::integer},
    {"uftp4.hbreq.siglen", "/hb_req/sig_len", kind::integer},
    {"uftp4.hbreq.nonce", "/hb_req/nonce", kind::integer},
    {"uftp4.hbreq.verify", "/hb_req/verify", kind::bytes},
    {"uftp4.hbresp.func", "/hb_resp/func", kind::integer},
    {"uftp4.hbresp.hlen", "/hb_resp/hlen", kind::words_as_bytes},
    {"uftp4.hbresp.authenticated", "/hb_resp/authenticated", kind::integer},
    {"uftp4.hbresp.nonce", "/hb_resp/nonce", kind::integer},
    {"uftp4.keyreq.func", "/key_req/func", kind::integer},
    {"uftp4.keyreq.hlen", "/key_req/hlen", kind::words_as_bytes},
    {"uftp4.proxykey.func", "/proxy_key/func", kind::integer},
    {"uftp4.proxykey.hlen", "/proxy_key/hlen", kind::words_as_bytes},
    {"uftp4.proxykey.bloblen", "/proxy_key/blob_len", kind::integer},
    {"uftp4.proxykey.dhlen", "/proxy_key/dh_len", kind::integer},
    {"uftp4.proxykey.siglen", "/proxy_key/sig_len", kind::integer},
    {"uftp4.proxykey.nonce", "/proxy_key/nonce", kind::integer},
    {"uftp4.proxykey.verify", "/proxy_key/verify", kind::bytes},
    // ENCRYPTED, ABORT, CONG_CTRL, CC_ACK
    {"uftp4.encrypted.ivctr", "/encrypted/iv_ctr", kind::integer},
    {"uftp4.encrypted.sig_len", "/encrypted/sig_len", kind::integer},
    {"uftp4.encrypted.payload_len", "/encrypted/payload_len", kind::integer},
    {"uftp4.encrypted.signature", "/encrypted/signature", kind::bytes},
    {"uftp4.encrypted.payload", "/encrypted/payload", kind::bytes},
    {"uftp4.abort.func", "/abort/func", kind::integer},
    {"uftp4.abort.hlen", "/abort/hlen", kind::words_as_bytes},
    {"uftp4.abort.flags", "/abort/flags", kind::integer},
    {"uftp4.abort.flags.curfile", "/abort/current_file", kind::boolean},
    {"uftp4.abort.clientid", "/abort/host", kind::integer},
    {"uftp4.abort.message", "/abort/message", kind::text},
    {"uftp4.congctrl.func", "/cong_ctrl/func", kind::integer},
    {"uftp4.congctrl.hlen", "/cong_ctrl/hlen", kind::words_as_bytes},
    {"uftp4.congctrl.cc_seq", "/cong_ctrl/cc_seq", kind::integer},
    {"uftp4.congctrl.cc_rate", "/cong_ctrl/cc_rate", kind::rate},
    {"uftp4.congctrl.tstamp", "/cong_ctrl/tstamp", kind::timestamp},
    {"uftp4.congctrl.item.destid", "/cong_ctrl/items/*/dest_id", kind::integer},
    {"uftp4.congctrl.item.flags", "/cong_ctrl/items/*/flags", kind::integer},
    {"uftp4.congctrl.item.flags.clr", "/cong_ctrl/items/*/clr", kind::boolean},
    {"uftp4.congctrl.item.flags.rtt", "/cong_ctrl/items/*/rtt_measured", kind::boolean},
    {"uftp4.congctrl.item.flags.start", "/cong_ctrl/items/*/slow_start", kind::boolean},
    {"uftp4.congctrl.item.rtt", "/cong_ctrl/items/*/rtt_seconds", kind::seconds},
    // Wireshark 4.0's CC_ACK dissector shows hlen*4 as "func" and the raw hlen
    // as "hlen" (everywhere else hlen is shown in bytes): compared as it shows
    // them, which still checks our hlen twice. Our func is checked by
    // uftp4.func, which must equal it.
    {"uftp4.ccack.func", "/cc_ack/hlen", kind::words_as_bytes},
    {"uftp4.ccack.hlen", "/cc_ack/hlen", kind::integer},
};

// tshark fields we deliberately do not compare.
bool deliberately_ignored(const std::string& field) {
    // Reserved bytes: written as zero, ignored on reading (messages.h).
    if (field.find(".reserved") != std::string::npos) {
        return true;
    }
    static const std::set<std::string> ignored{
        // The dissector reads CC items as 4.9-era {id, flags, rtt, rate(2)};
        // 4.10.2 sends the last two bytes as reserved zero (spec §2.17), so
        // "rate" is always the reserved field.
        "uftp4.congctrl.item.rate",
        // The dissector calls CC item flag 0x08 "leave"; in CONG_CTRL items
        // it is unused (spec §2.17) and we show the raw flags byte.
        "uftp4.congctrl.item.flags.leave",
    };
    return ignored.contains(field);
}

// Fields we print that Wireshark 4.0 cannot show because of a dissector bug.
bool tshark_cannot_show(const std::string& field) {
    // Its KEYINFO_ACK reads the reserved field one byte late and then runs
    // out of bytes for verify_data ("Malformed Packet"). Stock 4.10.2's
    // layout is func, hlen, reserved(2), verify_data(12) (spec §2.6, verified
    // in interop), which is what we decode.
    return field == "uftp4.keyinfoack.verify_data";
}

std::string canonical_integer(const json& v) {
    if (v.is_string()) {
        return std::to_string(std::stoull(v.get<std::string>(), nullptr, 0));
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "1" : "0";
    }
    return std::to_string(v.get<std::uint64_t>());
}

std::string utc_date(std::int64_t sec, std::int64_t usec) {
    std::tm tm{};
    const std::time_t t = sec;
    gmtime_r(&t, &tm);
    char text[64];
    const std::size_t n = std::strftime(text, sizeof text, "%b %e, %Y %H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%06lld000 UTC", static_cast<long long>(usec));
    return text;
}

std::string format_seconds(double s) {
    char text[64];
    std::snprintf(text, sizeof text, "%.12g", s);
    return text;
}

std::string canonical_tshark(const std::string& v, kind how) {
    switch (how) {
    case kind::integer:
    case kind::words_as_bytes:
    case kind::boolean:
        return std::to_string(std::stoull(v, nullptr, 0));
    case kind::rate:
        return v;
    case kind::bytes: {
        std::string out;
        for (char c : v) {
            if (c != ':') {
                out.push_back(c);
            }
        }
        return out;
    }
    case kind::seconds:
        return format_seconds(std::stod(v));
    case kind::text:
    case kind::timestamp:
    case kind::unix_seconds:
        return v;
    }
    return v;
}

// Our value(s) at `pointer` (with "*" expanded), canonicalised.
void collect_ours(const json& node, std::string_view pointer, const json& root_of_field, kind how,
                  std::vector<std::string>& out) {
    (void)root_of_field;
    if (pointer.empty() || pointer == "/") {
        switch (how) {
        case kind::integer:
        case kind::boolean:
            out.push_back(canonical_integer(node));
            return;
        case kind::words_as_bytes:
            out.push_back(std::to_string(node.get<std::uint64_t>() * 4));
            return;
        case kind::bytes:
            // tshark omits zero-length byte fields.
            if (!node.get<std::string>().empty()) {
                out.push_back(node.get<std::string>());
            }
            return;
        case kind::seconds:
            out.push_back(format_seconds(node.get<double>()));
            return;
        case kind::text:
            // tshark omits empty strings (a FILEINFO with no link target).
            if (!node.get<std::string>().empty()) {
                out.push_back(node.get<std::string>());
            }
            return;
        case kind::rate: {
            const auto q = node.get<std::uint16_t>();
            double exact = (q >> 4) * 10.0 / 4096.0;
            for (int e = 0; e < (q & 0xf); ++e) {
                exact *= 10;
            }
            out.push_back(
                std::to_string(static_cast<std::uint32_t>(static_cast<std::uint64_t>(exact))));
            return;
        }
        case kind::unix_seconds:
            out.push_back(utc_date(node.get<std::int64_t>(), 0));
            return;
        case kind::timestamp:
            return; // handled by the caller, which needs two fields
        }
    }
    const auto slash = pointer.find('/', 1);
    const std::string head(
        pointer.substr(1, slash == std::string_view::npos ? pointer.npos : slash - 1));
    const std::string_view rest =
        slash == std::string_view::npos ? std::string_view{} : pointer.substr(slash);
    if (head == "*") {
        if (node.is_array()) {
            for (const auto& item : node) {
                collect_ours(item, rest, root_of_field, how, out);
            }
        }
        return;
    }
    if (how == kind::timestamp && rest.empty()) {
        if (node.contains(head + "_sec")) {
            out.push_back(utc_date(node[head + "_sec"].get<std::int64_t>(),
                                   node[head + "_usec"].get<std::int64_t>()));
        }
        return;
    }
    if (node.is_object() && node.contains(head)) {
        collect_ours(node[head], rest, root_of_field, how, out);
    }
}

golden::field_values our_fields(const json& ours) {
    golden::field_values result;
    std::string message_key;
    std::string type = ours.value("type", "");
    for (auto& c : type) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const auto& f : fields) {
        if (f.only_if != nullptr) {
            const bool negate = f.only_if[0] == '!';
            const json::json_pointer guard(f.only_if + (negate ? 1 : 0));
            if (!ours.contains(guard) || ours.at(guard).get<bool>() == negate) {
                continue;
            }
        }
        std::string pointer = f.ours;
        if (auto at = pointer.find("{msg}"); at != std::string::npos) {
            pointer.replace(at, 5, type);
        }
        std::vector<std::string> values;
        collect_ours(ours, pointer, ours, f.how, values);
        auto& slot = result[f.tshark];
        slot.insert(slot.end(), values.begin(), values.end());
    }
    for (auto it = result.begin(); it != result.end();) {
        it = it->second.empty() ? result.erase(it) : std::next(it);
    }
    return result;
}

kind kind_of(const std::string& tshark_field) {
    for (const auto& f : fields) {
        if (tshark_field == f.tshark) {
            return f.how;
        }
    }
    return kind::text;
}

bool is_mapped(const std::string& tshark_field) {
    for (const auto& f : fields) {
        if (tshark_field == f.tshark) {
            return true;
        }
    }
    return false;
}

// Decodes `capture` both ways and compares every frame; returns frames compared.
std::size_t compare_capture(const std::string& capture) {
    const auto theirs = run_tshark(capture);

    std::string error;
    auto reader = decode::capture_reader::open_file(capture, error);
    EXPECT_TRUE(reader) << error;
    if (!reader) {
        return 0;
    }
    std::ostringstream out;
    const auto totals = decode::decode_capture(*reader, 1044, {.include_data = true}, out);
    EXPECT_EQ(totals.errors, 0u) << capture;
    EXPECT_EQ(totals.bad_frames, 0u) << capture;
    EXPECT_EQ(totals.datagrams, theirs.size()) << "tshark and we see different frame counts";

    std::istringstream lines(out.str());
    std::size_t compared = 0;
    for (std::string line; std::getline(lines, line);) {
        const json ours = json::parse(line);
        const std::uint64_t frame = ours.at("frame").get<std::uint64_t>();
        SCOPED_TRACE(capture + " frame " + std::to_string(frame) + " " + ours.value("type", ""));
        const auto it = theirs.find(frame);
        if (it == theirs.end()) {
            ADD_FAILURE() << "tshark did not dissect this frame as uftp4";
            continue;
        }
        EXPECT_FALSE(it->second.contains("uftp4.length.invalid")) << "tshark: length invalid";
        EXPECT_FALSE(it->second.contains("uftp4.func.invalid")) << "tshark: unknown function";

        auto mine = our_fields(ours);
        for (const auto& [field, values] : it->second) {
            if (deliberately_ignored(field)) {
                continue;
            }
            EXPECT_TRUE(is_mapped(field)) << "tshark field " << field << " has no counterpart";
            std::vector<std::string> expected;
            for (const auto& v : values) {
                // tshark shows some zero-length byte fields as "" and omits others.
                if (!v.empty()) {
                    expected.push_back(canonical_tshark(v, kind_of(field)));
                }
            }
            EXPECT_EQ(mine[field], expected) << "field " << field;
            mine.erase(field);
        }
        for (const auto& [field, values] : mine) {
            if (tshark_cannot_show(field)) {
                continue;
            }
            ADD_FAILURE() << "we print " << field << " = " << values.front()
                          << " but tshark reports no such field";
        }
        ++compared;
    }
    return compared;
}

TEST(decode_golden, plain_open_group_capture_matches_tshark) {
    EXPECT_EQ(compare_capture(SKYCAST_TEST_DATA "/plain-open-group-2files.pcap"), 265u);
}

TEST(decode_golden, ecdh_rsa_gcm_client_auth_capture_matches_tshark) {
    EXPECT_GT(compare_capture(SKYCAST_TEST_DATA "/ecdh-rsa-aes256gcm-clientauth.pcap"), 10u);
}

TEST(decode_golden, every_message_type_we_encode_matches_tshark) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("skycast-golden-" + std::to_string(::getpid()) + ".pcap");
    const int frames = write_sample_capture(path.string());
    EXPECT_EQ(compare_capture(path.string()), static_cast<std::size_t>(frames));
    std::filesystem::remove(path);
}

} // namespace
} // namespace skycast::golden
