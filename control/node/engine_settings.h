#pragma once
// From the validated YAML (config::control_config) to the engines' session
// parameters (control/engine/session_config.h): enum values carry their wire
// numbers on both sides, so most of it is a cast; keys are loaded from their
// PEM files here, once, at start.

#include "config/node_config.h"
#include "control/engine/ports.h"
#include "control/engine/response_proxy.h"
#include "control/engine/session_config.h"
#include "crypto/keys.h"

#include <memory>
#include <string>
#include <vector>

namespace skycast::control::node {

// Empty `error` on success; otherwise it names the key file that failed.
engine::sender_config sender_settings(const config::control_config& c, std::uint32_t group_id,
                                      std::string& error);
engine::receiver_config receiver_settings(const config::control_config& c, std::string& error);

// control.heartbeats, for engine::heartbeat_sender: `to` empty without them.
struct heartbeat_settings {
    std::vector<engine::endpoint> to;
    engine::time_ns interval = 0;
    std::shared_ptr<const crypto::private_key> key; // null: unauthenticated only
};
heartbeat_settings heartbeat_settings_of(const config::control_config& c, std::string& error);

// roles response_proxy and client_proxy: the aggregation engine's settings,
// with its keys loaded and its ECDH key made when control.encryption gives
// them.
engine::response_proxy_config response_proxy_settings(const config::control_config& c,
                                                      std::string& error);

} // namespace skycast::control::node
