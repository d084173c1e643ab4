#include "control/decode/message_json.h"

#include "protocol/key_blob.h"
#include "protocol/nak_bitmap.h"
#include "protocol/nak_list.h"
#include "protocol/quantize.h"

#include <arpa/inet.h>
#include <array>
#include <cstdio>

namespace skycast::decode {
namespace {

using json = nlohmann::ordered_json;
namespace p = protocol;

// Names for enumerations, indexed by their wire value.
constexpr std::array<const char*, 4> keyex_names{"none", "rsa", "ecdh_rsa", "ecdh_ecdsa"};
constexpr std::array<const char*, 4> sigtype_names{"none", "hmac", "keyex", "authenc"};
constexpr std::array<const char*, 9> keytype_names{"none",       "des",        "3des",
                                                   "aes128-cbc", "aes256-cbc", "aes128-gcm",
                                                   "aes256-gcm", "aes128-ccm", "aes256-ccm"};
constexpr std::array<const char*, 6> hashtype_names{"none",   "md5",    "sha1",
                                                    "sha256", "sha384", "sha512"};
constexpr std::array<const char*, 4> cc_names{"none", "uftp3", "tfmcc", "pgmcc"};
constexpr std::array<const char*, 5> ftype_names{"regular", "directory", "symlink", "delete",
                                                 "freespace"};
constexpr std::array<const char*, 4> status_names{"normal", "skipped", "overwrite", "rejected"};
constexpr std::array<const char*, 3> hb_auth_names{"failed", "ok", "challenge"};

template <class Enum, std::size_t N>
std::string enum_name(const std::array<const char*, N>& names, Enum value) {
    const auto index = static_cast<std::size_t>(value);
    return index < N ? names[index] : "unknown(" + std::to_string(index) + ")";
}

json id_list(const p::client_id_list& ids) {
    json list = json::array();
    for (auto id : ids) {
        list.push_back(hex_id(id));
    }
    return list;
}

std::string address_text(const p::ip_address& a, bool ipv6) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(ipv6 ? AF_INET6 : AF_INET, a.bytes.data(), text, sizeof text);
    return text;
}

// {"rsa": {...}} or {"ec": {...}}: the blob's fields under its kind.
json blob_json(std::span<const std::uint8_t> blob) {
    p::key_blob_view view;
    if (auto e = p::parse_key_blob(blob, view); e != p::wire_error::ok) {
        return json{{"error", std::string(p::name(e))}, {"raw", hex(blob)}};
    }
    if (view.type == p::keyblob_type::rsa) {
        return json{{"rsa",
                     {{"blob_type", static_cast<int>(view.type)},
                      {"modulus_len", view.modulus.size()},
                      {"exponent", view.exponent},
                      {"modulus", hex(view.modulus)}}}};
    }
    return json{{"ec",
                 {{"blob_type", static_cast<int>(view.type)},
                  {"curve", view.curve},
                  {"key_len", view.point.size()},
                  {"key", hex(view.point)}}}};
}

// Type and length (in words) of an extension, as sent.
json extension_head(p::extension_type type, std::size_t bytes) {
    return json{{"ext_type", static_cast<int>(type)}, {"ext_len", bytes / 4}};
}

json tstamp_into(json& j, const char* prefix, const p::timestamp& t) {
    j[std::string(prefix) + "_sec"] = t.sec;
    j[std::string(prefix) + "_usec"] = t.usec;
    return j;
}

json tfmcc_ack_json(const p::tfmcc_ack_info_ext& t) {
    json j = extension_head(p::extension_type::tfmcc_ack_info, 20);
    j.update(json{{"flags", t.flags},
                  {"clr", (t.flags & p::flags::tfmcc_clr) != 0},
                  {"rtt", (t.flags & p::flags::tfmcc_rtt) != 0},
                  {"start", (t.flags & p::flags::tfmcc_start) != 0},
                  {"leave", (t.flags & p::flags::tfmcc_leave) != 0},
                  {"cc_seq", t.cc_seq},
                  {"cc_rate", t.cc_rate},
                  {"cc_rate_bytes_per_sec", p::unquantize_rate(t.cc_rate)},
                  {"client_id", hex_id(t.client_id)}});
    tstamp_into(j, "tstamp", t.tstamp);
    return j;
}

struct body_renderer {
    std::span<const std::uint8_t> raw;
    const json_options& options;

    // Raw hlen (in 4-byte words) as sent; the decoder has checked it.
    json frame_fields() const {
        return json{{"func", raw[p::uftp_header_size]}, {"hlen", raw[p::uftp_header_size + 1]}};
    }

    json operator()(const p::announce_msg& m) const {
        json j = frame_fields();
        j["flags"] = m.flags;
        j["sync_mode"] = (m.flags & p::flags::announce_sync_mode) != 0;
        j["sync_preview"] = (m.flags & p::flags::announce_sync_preview) != 0;
        j["ipv6"] = m.ipv6();
        j["robust"] = m.robust;
        j["cc_type"] = static_cast<int>(m.cc);
        j["cc_type_name"] = enum_name(cc_names, m.cc);
        j["block_size"] = m.block_size;
        tstamp_into(j, "tstamp", m.tstamp);
        j["public_addr"] = address_text(m.public_addr, m.ipv6());
        j["private_addr"] = address_text(m.private_addr, m.ipv6());
        j["takes_overload_reports"] = m.takes_overload_reports; // EXT_SKYCAST_OVERLOAD
        if (m.nak_lists_from) {                                 // EXT_SKYCAST_NAK_LIST
            j["nak_lists_from"] = address_text(p::ip_address::from_ipv4(*m.nak_lists_from), false);
        }
        if (m.last_file_id) { // EXT_SKYCAST_LAST_FILE
            j["last_file_id"] = *m.last_file_id;
        }
        if (m.enc_info) {
            const auto& e = *m.enc_info;
            json ei = extension_head(
                p::extension_type::enc_info,
                (44 + e.key_blob.size() + e.dh_blob.size() + e.signature.size() + 3) / 4 * 4);
            ei.update(json{{"flags", e.flags},
                           {"client_auth", (e.flags & p::flags::enc_info_client_auth) != 0},
                           {"keyex_type", static_cast<int>(e.keyextype)},
                           {"keyex_name", enum_name(keyex_names, e.keyextype)},
                           {"sig_type", static_cast<int>(e.sigtype)},
                           {"sig_name", enum_name(sigtype_names, e.sigtype)},
                           {"key_type", static_cast<int>(e.keytype)},
                           {"key_name", enum_name(keytype_names, e.keytype)},
                           {"hash_type", static_cast<int>(e.hashtype)},
                           {"hash_name", enum_name(hashtype_names, e.hashtype)},
                           {"key_len", e.key_blob.size()},
                           {"dh_len", e.dh_blob.size()},
                           {"sig_len", e.signature.size()},
                           {"rand1", hex(e.rand1)},
                           {"key_blob", blob_json(e.key_blob)},
                           {"signature", hex(e.signature)}});
            if (!e.dh_blob.empty()) {
                ei["dh_blob"] = blob_json(e.dh_blob);
            }
            j["enc_info"] = std::move(ei);
        }
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::register_msg& m) const {
        json j = frame_fields();
        j["key_info_len"] = m.key_info.size();
        tstamp_into(j, "tstamp", m.tstamp);
        j["rand2"] = hex(m.rand2);
        j["key_info"] = hex(m.key_info);
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::client_key_msg& m) const {
        json j = frame_fields();
        j["blob_len"] = m.key_blob.size();
        j["sig_len"] = m.verify.size();
        j["key_blob"] = blob_json(m.key_blob);
        j["verify"] = hex(m.verify);
        return j;
    }

    json operator()(const p::reg_conf_msg& m) const {
        json j = frame_fields();
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::keyinfo_msg& m) const {
        json j = frame_fields();
        j["iv_ctr"] = m.iv_ctr;
        json entries = json::array();
        for (const auto& e : m.entries) {
            entries.push_back(
                {{"dest_id", hex_id(e.dest_id)}, {"group_master", hex(e.group_master)}});
        }
        j["entries"] = std::move(entries);
        return j;
    }

    json operator()(const p::keyinfo_ack_msg& m) const {
        json j = frame_fields();
        j["verify_data"] = hex(m.verify_data);
        return j;
    }

    json operator()(const p::fileinfo_msg& m) const {
        json j = frame_fields();
        j["file_id"] = m.file_id;
        j["ftype"] = static_cast<int>(m.ftype);
        j["ftype_name"] = enum_name(ftype_names, m.ftype);
        j["name_len"] = raw[p::uftp_header_size + 8];
        j["link_len"] = raw[p::uftp_header_size + 9];
        j["size"] = m.size;
        j["ftstamp"] = m.ftstamp;
        if (m.mode) {
            // Skycast's mode in the reserved bytes (octal, as ls shows it).
            char octal[8];
            std::snprintf(octal, sizeof octal, "0%o", *m.mode);
            j["skycast_mode"] = octal;
        }
        tstamp_into(j, "tstamp", m.tstamp);
        j["name"] = m.name;
        j["link"] = m.link;
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::fileinfo_ack_msg& m) const {
        json j = frame_fields();
        j["file_id"] = m.file_id;
        j["flags"] = m.flags;
        j["partial"] = (m.flags & p::flags::fileinfo_ack_partial) != 0;
        tstamp_into(j, "tstamp", m.tstamp);
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::fileseg_msg& m) const {
        json j = frame_fields();
        j["file_id"] = m.file_id;
        j["section"] = m.section;
        j["sec_block"] = m.sec_block;
        if (m.tfmcc) {
            j["tfmcc"] = extension_head(p::extension_type::tfmcc_data_info, 8);
            j["tfmcc"].update(
                json{{"send_rate", m.tfmcc->send_rate},
                     {"send_rate_bytes_per_sec", p::unquantize_rate(m.tfmcc->send_rate)},
                     {"cc_seq", m.tfmcc->cc_seq},
                     {"cc_rate", m.tfmcc->cc_rate},
                     {"cc_rate_bytes_per_sec", p::unquantize_rate(m.tfmcc->cc_rate)}});
        }
        j["data_len"] = m.data.size();
        if (options.include_data) {
            j["data"] = hex(m.data);
        }
        return j;
    }

    json operator()(const p::done_msg& m) const {
        json j = frame_fields();
        j["file_id"] = m.file_id;
        j["section"] = m.section;
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::status_msg& m) const {
        json j = frame_fields();
        j["file_id"] = m.file_id;
        j["section"] = m.section;
        if (m.tfmcc) {
            j["tfmcc"] = tfmcc_ack_json(*m.tfmcc);
        }
        j["nak_len"] = m.naks.size();
        j["fec_deficit"] = m.fec_deficit;
        j["nak_list"] = m.nak_list;
        if (m.nak_list) {
            // A list (docs/protocol.md §19) read against the largest section.
            std::vector<std::uint8_t> bitmap;
            constexpr std::uint32_t largest_section = 65536;
            if (p::expand_nak_list(m.naks, largest_section, bitmap)) {
                j["naks_set"] = p::nak_bitmap_view(bitmap, largest_section).count_missing();
            } else {
                j["naks_set"] = nullptr;
                j["nak_list_malformed"] = true;
            }
        } else {
            // The section's block count is not on the wire: count every set bit.
            j["naks_set"] =
                p::nak_bitmap_view(m.naks, static_cast<std::uint32_t>(m.naks.size() * 8))
                    .count_missing();
        }
        j["naks"] = hex(m.naks);
        return j;
    }

    json operator()(const p::complete_msg& m) const {
        json j = frame_fields();
        j["file_id"] = m.file_id;
        j["status"] = static_cast<int>(m.status);
        j["status_name"] = enum_name(status_names, m.status);
        if (m.freespace) {
            j["freespace_info"] = extension_head(p::extension_type::freespace_info, 12);
            j["freespace_info"]["freespace"] = m.freespace->freespace;
        }
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::done_conf_msg& m) const {
        json j = frame_fields();
        j["client_ids"] = id_list(m.client_ids);
        return j;
    }

    json operator()(const p::hb_req_msg& m) const {
        json j = frame_fields();
        j["blob_len"] = m.key_blob.size();
        j["sig_len"] = m.verify.size();
        j["nonce"] = m.nonce;
        if (!m.key_blob.empty()) {
            j["key_blob"] = blob_json(m.key_blob);
        }
        j["verify"] = hex(m.verify);
        return j;
    }

    json operator()(const p::hb_resp_msg& m) const {
        json j = frame_fields();
        j["authenticated"] = static_cast<int>(m.authenticated);
        j["authenticated_name"] = enum_name(hb_auth_names, m.authenticated);
        j["nonce"] = m.nonce;
        return j;
    }

    json operator()(const p::key_req_msg&) const { return frame_fields(); }

    json operator()(const p::proxy_key_msg& m) const {
        json j = frame_fields();
        j["blob_len"] = m.key_blob.size();
        j["dh_len"] = m.dh_blob.size();
        j["sig_len"] = m.verify.size();
        j["nonce"] = m.nonce;
        j["key_blob"] = blob_json(m.key_blob);
        if (!m.dh_blob.empty()) {
            j["dh_blob"] = blob_json(m.dh_blob);
        }
        j["verify"] = hex(m.verify);
        return j;
    }

    json operator()(const p::encrypted_msg& m) const {
        json j{{"iv_ctr", m.iv_ctr},
               {"sig_len", m.signature.size()},
               {"payload_len", m.payload.size()},
               {"signature", hex(m.signature)}};
        if (options.include_data) {
            j["payload"] = hex(m.payload);
        }
        return j;
    }

    json operator()(const p::abort_msg& m) const {
        json j = frame_fields();
        j["flags"] = m.flags;
        j["current_file"] = (m.flags & p::flags::abort_current_file) != 0;
        j["host"] = hex_id(m.host);
        j["message"] = m.message;
        return j;
    }

    json operator()(const p::cong_ctrl_msg& m) const {
        json j = frame_fields();
        j["cc_seq"] = m.cc_seq;
        j["cc_rate"] = m.cc_rate;
        j["cc_rate_bytes_per_sec"] = p::unquantize_rate(m.cc_rate);
        tstamp_into(j, "tstamp", m.tstamp);
        json items = json::array();
        for (const auto& item : m.items) {
            items.push_back({{"dest_id", hex_id(item.dest_id)},
                             {"flags", item.flags},
                             {"clr", (item.flags & p::flags::tfmcc_clr) != 0},
                             {"rtt_measured", (item.flags & p::flags::tfmcc_rtt) != 0},
                             {"slow_start", (item.flags & p::flags::tfmcc_start) != 0},
                             {"rtt", item.rtt},
                             {"rtt_seconds", p::unquantize_grtt(item.rtt)}});
        }
        j["items"] = std::move(items);
        return j;
    }

    json operator()(const p::cc_ack_msg& m) const {
        json j = frame_fields();
        j["tfmcc"] = tfmcc_ack_json(m.tfmcc);
        return j;
    }
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return out;
}

} // namespace

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

std::string hex_id(std::uint32_t id) {
    char text[11];
    std::snprintf(text, sizeof text, "0x%08x", id);
    return text;
}

nlohmann::ordered_json header_to_json(const protocol::uftp_header& h,
                                      std::span<const std::uint8_t> raw) {
    return json{{"version", raw[0]},
                {"func", raw[1]},
                {"seq", h.seq},
                {"src_id", hex_id(h.src_id)},
                {"group_id", hex_id(h.group_id)},
                {"group_inst", h.group_inst},
                {"grtt", h.grtt},
                {"grtt_seconds", p::unquantize_grtt(h.grtt)},
                {"gsize", h.gsize},
                {"gsize_clients", p::unquantize_group_size(h.gsize)}};
}

nlohmann::ordered_json to_json(const protocol::datagram& d, std::span<const std::uint8_t> raw,
                               const json_options& options) {
    const std::string type = lower(p::name(d.type()));
    json j;
    j["header"] = header_to_json(d.header, raw);
    j["type"] = std::string(p::name(d.type()));
    j[type] = std::visit(body_renderer{raw, options}, d.body);
    return j;
}

} // namespace skycast::decode
