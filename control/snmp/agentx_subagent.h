#pragma once
// The net-snmp side of skycast-snmp: an AgentX subagent that registers
// SKYCAST-MIB's objects with the host's snmpd (the master agent), answers
// GET and GETNEXT from the latest mib_view, and sends notifications through
// the master (which forwards them to its trap sinks).
//
// net-snmp keeps global state and is not thread-safe: one instance per
// process, and every call from the thread that created it.

#include "control/snmp/mib_view.h"
#include "control/snmp/node_watch.h"

#include <chrono>
#include <memory>
#include <string>

namespace skycast::control::snmp {

class agentx_subagent {
public:
    // `master`: the master's AgentX socket ("/var/agentx/master", or
    // "tcp:HOST:PORT"). A master that is not there yet is no error: net-snmp
    // tries again every `reconnect` and registers once it answers, and after
    // an snmpd restart too.
    static std::unique_ptr<agentx_subagent> start(const std::string& master,
                                                  std::chrono::seconds reconnect);
    ~agentx_subagent();
    agentx_subagent(const agentx_subagent&) = delete;
    agentx_subagent& operator=(const agentx_subagent&) = delete;

    // What GET and GETNEXT answer from now on.
    void publish(mib_view view) { _view = std::move(view); }

    // Sends `event` (skycastNodeId first, then its objects) to the master.
    void notify(const node_event& event, const std::string& node_id);

    // Serves requests for at most `timeout` (less when net-snmp has a timer
    // due sooner, such as its reconnect).
    void process(std::chrono::milliseconds timeout);

    std::uint64_t notifications_sent() const { return _sent; }

private:
    agentx_subagent() = default;
    friend struct agentx_handler;
    mib_view _view;
    std::uint64_t _sent = 0;
};

} // namespace skycast::control::snmp
