#include "tests/golden/tshark_fields.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace skycast::golden {
namespace {

// SAX handler: remembers the last key and records string values of keys that
// start with "uftp4." or equal "frame.number".
class field_collector : public nlohmann::json_sax<nlohmann::json> {
public:
    std::map<std::uint64_t, field_values> frames;

    bool key(string_t& k) override {
        _key = k;
        return true;
    }
    bool string(string_t& value) override {
        if (_key == "frame.number") {
            _frame = std::stoull(value);
        } else if (_key.rfind("uftp4.", 0) == 0) {
            frames[_frame][_key].push_back(value);
        }
        return true;
    }
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string& token,
                     const nlohmann::detail::exception& e) override {
        throw std::runtime_error("tshark JSON unreadable at " + std::to_string(position) + " (" +
                                 token + "): " + e.what());
    }

private:
    std::string _key;
    std::uint64_t _frame = 0;
};

} // namespace

std::map<std::uint64_t, field_values> run_tshark(const std::string& capture) {
    // Decode as uftp4 on port 1044 whatever the heuristics say; only the
    // frame and uftp4 layers are printed.
    const std::string errors = capture + ".tshark-stderr";
    const std::string command = "tshark -n -r '" + capture +
                                "' -d udp.port==1044,uftp -T json -J 'frame uftp4' 2>'" + errors +
                                "'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) {
        throw std::runtime_error("cannot run tshark");
    }
    std::string output;
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) {
        output.append(buffer, n);
    }
    const int status = pclose(pipe.release());
    std::ifstream error_file(errors);
    const std::string error_text((std::istreambuf_iterator<char>(error_file)),
                                 std::istreambuf_iterator<char>());
    std::remove(errors.c_str());
    if (status != 0) {
        throw std::runtime_error("tshark failed (status " + std::to_string(status) +
                                 "; is the tshark package installed?): " + error_text);
    }
    field_collector collector;
    nlohmann::json::sax_parse(output, &collector);
    return collector.frames;
}

} // namespace skycast::golden
