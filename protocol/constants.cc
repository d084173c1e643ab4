#include "protocol/constants.h"

#include <array>

namespace skycast::protocol {

std::string_view name(message_type t) {
    static constexpr std::array<std::string_view, last_message_type + 1> names{
        "UNKNOWN",     "ANNOUNCE",  "REGISTER",     "CLIENT_KEY", "REG_CONF", "KEYINFO",
        "KEYINFO_ACK", "FILEINFO",  "FILEINFO_ACK", "FILESEG",    "DONE",     "STATUS",
        "COMPLETE",    "DONE_CONF", "HB_REQ",       "HB_RESP",    "KEY_REQ",  "PROXY_KEY",
        "ENCRYPTED",   "ABORT",     "CONG_CTRL",    "CC_ACK"};
    const auto index = static_cast<std::size_t>(t);
    return index < names.size() ? names[index] : names[0];
}

} // namespace skycast::protocol
