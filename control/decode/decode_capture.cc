#include "control/decode/decode_capture.h"

#include "protocol/codec.h"

#include <ctime>

namespace skycast::decode {
namespace {

using json = nlohmann::ordered_json;

std::string iso_time(std::int64_t sec, std::int64_t usec) {
    std::tm tm{};
    const std::time_t t = static_cast<std::time_t>(sec);
    gmtime_r(&t, &tm);
    char text[64];
    const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(usec));
    return text;
}

json frame_json(const udp_frame& f) {
    char epoch[48];
    std::snprintf(epoch, sizeof epoch, "%lld.%06lld", static_cast<long long>(f.ts_sec),
                  static_cast<long long>(f.ts_usec));
    return json{{"frame", f.frame_number},
                {"ts", epoch},
                {"time", iso_time(f.ts_sec, f.ts_usec)},
                {"src", f.src_addr},
                {"sport", f.src_port},
                {"dst", f.dst_addr},
                {"dport", f.dst_port},
                {"length", f.payload.size()}};
}

void print(std::ostream& out, const json& j) {
    // Replace invalid UTF-8 (names and ABORT texts come off the wire) rather
    // than throwing: one bad byte must not stop the decode.
    out << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
}

} // namespace

decode_totals decode_capture(capture_reader& reader, std::uint16_t port,
                             const json_options& options, std::ostream& out) {
    decode_totals totals;
    udp_frame frame;
    std::string problem;
    for (;;) {
        problem.clear();
        const frame_status status = reader.next(frame, problem);
        if (status == frame_status::end) {
            break;
        }
        ++totals.frames;
        switch (status) {
        case frame_status::not_udp:
            ++totals.skipped;
            continue;
        case frame_status::fragment:
            ++totals.fragments;
            continue;
        case frame_status::malformed:
            ++totals.bad_frames;
            print(out, json{{"frame", frame.frame_number},
                            {"error", "bad_frame"},
                            {"error_text", problem}});
            continue;
        case frame_status::udp:
        case frame_status::end:
            break;
        }
        if (frame.src_port != port && frame.dst_port != port) {
            ++totals.skipped;
            continue;
        }
        ++totals.datagrams;
        json j = frame_json(frame);
        protocol::datagram d;
        const auto e = protocol::decode(frame.payload, d);
        if (e == protocol::wire_error::ok) {
            ++totals.decoded;
            j.update(to_json(d, frame.payload, options));
        } else {
            ++totals.errors;
            // Show as much as is known: the header when it decoded, the type
            // the header claims, and the raw bytes so nothing is hidden.
            protocol::uftp_header header;
            protocol::message_type type{};
            if (protocol::decode_header(frame.payload, header, type) == protocol::wire_error::ok) {
                j["header"] = header_to_json(header, frame.payload);
                j["type"] = std::string(protocol::name(type));
            }
            j["error"] = std::string(protocol::name(e));
            j["error_text"] = std::string(protocol::describe(e));
            j["raw"] = hex(frame.payload);
        }
        print(out, j);
    }
    totals.fragments_lost = reader.fragments_evicted() + reader.fragments_incomplete();
    return totals;
}

} // namespace skycast::decode
