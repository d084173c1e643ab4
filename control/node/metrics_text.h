#pragma once
// A node's stats document (node::stats(), the JSON `skycast stats --json`
// prints) in Prometheus's text exposition format (version 0.0.4): what
// GET /metrics serves (metrics_http.h). One function of the document, so the
// socket and the scrape can never disagree, and testable without a node.
//
// Names: skycast_<area>_<name>, with "_total" on counters; every dataplane
// counter keeps its name ("rx.drop.ipv4_bad_checksum" ->
// skycast_dataplane_rx_drop_ipv4_bad_checksum_total) and its help text.
// Sessions are labelled by session (group ID), server or receiver UID, so a
// dashboard follows each one; their state and outcome are labels of an
// _info series (value 1).

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace skycast::control::node {

// Counter help texts come from the document (dataplane.counter_help).
std::string prometheus_text(const nlohmann::json& stats);

// "rx.drop.x-y" -> "rx_drop_x_y": the characters a metric name may hold.
std::string metric_name(std::string_view text);

} // namespace skycast::control::node
