#pragma once
// Reads Wireshark's `uftp4` dissector output (`tshark -T json`) into, per
// frame, every uftp4.* field in order of appearance. tshark's JSON repeats
// keys (one "uftp4.dest" per client ID), so it is read event by event rather
// than into a JSON object, which would keep only one of them.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace skycast::golden {

using field_values = std::map<std::string, std::vector<std::string>>;

// frame number -> field name -> values in order. Runs tshark on `capture`;
// throws std::runtime_error naming the problem if tshark fails.
std::map<std::uint64_t, field_values> run_tshark(const std::string& capture);

} // namespace skycast::golden
