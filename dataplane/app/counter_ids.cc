#include "dataplane/app/counter_ids.h"

#include "dataplane/app/lcore_context.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace skycast::dataplane {

namespace {

struct counter_info {
    std::string_view name;
    std::string_view help;
};

counter_info describe_fixed(counter c) {
    switch (c) {
    case counter::rx_packets:
        return {"rx.packets", "frames received from the port"};
    case counter::rx_bytes:
        return {"rx.bytes", "bytes of frames received from the port"};
    case counter::rx_arp:
        return {"rx.arp", "ARP frames handed to the ARP handler"};
    case counter::rx_igmp:
        return {"rx.igmp", "IGMP frames (queries) handed to the IGMP handler"};
    case counter::rx_fileseg_stored:
        return {"rx.fileseg.stored", "new file blocks accepted and handed to storage"};
    case counter::rx_fileseg_bytes:
        return {"rx.fileseg.bytes", "bytes of accepted file blocks"};
    case counter::rx_to_control:
        return {"rx.to_control", "UFTP messages other than FILESEG passed to the control process"};
    case counter::rx_parity_to_control:
        return {"rx.parity.to_control",
                "FEC PARITY datagrams passed to the control process, which decodes them"};
    case counter::rx_forwarded:
        return {"rx.forwarded",
                "server proxy: datagrams of a forwarded server handed to the TX lcore unchanged"};
    case counter::rx_forwarded_bytes:
        return {"rx.forwarded.bytes", "server proxy: UFTP bytes of those datagrams"};
    case counter::rx_forward_tapped:
        return {"rx.forward_tapped",
                "client proxy: sealed server datagrams forwarded and also copied to control, "
                "while a receiver waits for the server to confirm it"};
    case counter::rx_drop_tap_no_mbuf:
        return {"rx.drop.tap_no_mbuf",
                "client proxy: no mbuf for a sealed datagram's copy to control (the datagram "
                "itself was forwarded)"};
    case counter::rx_drop_multi_segment:
        return {"rx.drop.multi_segment", "frames spread over several mbufs: raise the mbuf size"};
    case counter::rx_drop_not_uftp:
        return {"rx.drop.not_uftp", "UDP on a session port that is not a valid UFTP 4 datagram"};
    case counter::rx_drop_foreign_session:
        return {"rx.drop.foreign_session",
                "FILESEG of a sender/group this node has no open file for"};
    case counter::rx_drop_decrypt_failed:
        return {"rx.drop.decrypt_failed",
                "ENCRYPTED datagram failed authentication: tampering or wrong keys"};
    case counter::rx_drop_control_ring_full:
        return {"rx.drop.control_ring_full",
                "control process not draining its ring (stopped or overloaded)"};
    case counter::rx_drop_storage_ring_full:
        return {"rx.drop.storage_ring_full", "storage threads behind the RX rate: disk too slow"};
    case counter::rx_drop_tx_ring_full:
        return {"rx.drop.tx_ring_full", "ARP/IGMP work for the TX lcore dropped: TX lcore behind"};
    case counter::rx_drop_forward_ring_full:
        return {"rx.drop.forward_ring_full",
                "server proxy: datagrams to forward dropped, the TX lcore behind the RX rate"};
    case counter::rx_drop_kernel_ring:
        return {"rx.drop.kernel_ring",
                "frames the kernel dropped before the RX lcore read them (af_packet socket "
                "ring full): the lcore fell behind or slept too long (idle_backoff_max_us)"};
    case counter::tx_packets:
        return {"tx.packets", "frames the port accepted"};
    case counter::tx_bytes:
        return {"tx.bytes", "bytes of frames the port accepted"};
    case counter::tx_fileseg:
        return {"tx.fileseg", "FILESEG frames sent"};
    case counter::tx_fileseg_bytes:
        return {"tx.fileseg.bytes", "file data bytes sent in FILESEGs"};
    case counter::tx_parity:
        return {"tx.parity", "FEC PARITY frames sent (docs/protocol.md §17)"};
    case counter::tx_parity_bytes:
        return {"tx.parity.bytes", "parity bytes sent in PARITY frames"};
    case counter::tx_drop_parity_failed:
        return {"tx.drop.parity_failed",
                "PARITY not built: a run past index 254, or the file shorter than its layout"};
    case counter::tx_parity_waits:
        return {"tx.parity.waits",
                "times a pass's end waited for parity the service thread had not encoded yet"};
    case counter::tx_control:
        return {"tx.control",
                "control-process datagrams sent, and datagrams a server proxy forwarded"};
    case counter::tx_arp:
        return {"tx.arp", "ARP requests and replies sent"};
    case counter::tx_igmp:
        return {"tx.igmp", "IGMP membership reports and leaves sent"};
    case counter::tx_drop_port_full:
        return {"tx.drop.port_full", "frames the port did not take (TX queue full): freed"};
    case counter::tx_drop_no_mbuf:
        return {"tx.drop.no_mbuf", "no mbuf to build a frame: the pool is too small"};
    case counter::tx_arp_held:
        return {"tx.arp_held", "unicast datagrams held until their next hop answered ARP"};
    case counter::tx_arp_gleaned:
        return {"tx.arp_gleaned",
                "ARP entries learned or confirmed from a UFTP sender's own frames (ANNOUNCE, "
                "FILEINFO, DONE) on the local subnet, with no ARP exchange"};
    case counter::tx_drop_arp_unresolved:
        return {"tx.drop.arp_unresolved",
                "unicast datagram dropped: its next hop did not answer ARP in time "
                "(or the hold queue was full)"};
    case counter::tx_drop_seal_failed:
        return {"tx.drop.seal_failed",
                "FILESEG that could not be encrypted (keys missing or refused)"};
    case counter::tx_drop_too_big:
        return {"tx.drop.too_big", "datagram larger than the port MTU allows"};
    case counter::tx_pass_started:
        return {"tx.pass.started", "passes started"};
    case counter::tx_pass_ended:
        return {"tx.pass.ended", "passes sent to the end"};
    case counter::tx_pass_stopped:
        return {"tx.pass.stopped", "passes stopped early (stop or read error)"};
    case counter::tx_rate_changes:
        return {"tx.pass.rate_changes",
                "rate changes within a pass (a receiver reported overload, or it passed)"};
    case counter::tx_rate_unused_bytes:
        return {"tx.pass.rate_unused_bytes",
                "wire bytes the passes' rate allowed and the TX lcore did not send: it was not "
                "running when the pacer's burst filled (descheduled, or slept past it), or had "
                "nothing ready (parity still being encoded)"};
    case counter::tx_drop_event_ring_full:
        return {"tx.drop.event_ring_full", "pass-end event lost: control not draining its ring"};
    case counter::tx_file_read_error:
        return {"tx.file_read_error", "a file being sent shrank or became unreadable mid-pass"};
    case counter::crypto_sealed:
        return {"crypto.sealed", "FILESEGs encrypted by the TX lcore"};
    case counter::crypto_seal_refused:
        return {"crypto.seal_refused",
                "FILESEGs the seal engine refused (see tx.drop.seal_failed)"};
    case counter::crypto_opened:
        return {"crypto.opened", "ENCRYPTED datagrams authenticated and decrypted"};
    case counter::crypto_open_refused:
        return {"crypto.open_refused", "ENCRYPTED datagrams the RX lcore could not open"};
    case counter::crypto_auth_failures:
        return {"crypto.auth_failures",
                "tag/HMAC/signature failures: forged, corrupted or wrong keys"};
    case counter::crypto_device_errors:
        return {"crypto.device_errors",
                "cryptodev operations failed or timed out: check the device"};
    case counter::crypto_queue_shortfalls:
        return {"crypto.queue_shortfalls", "cryptodev queue full or slow: raise its depth"};
    case counter::loop_busy_cycles:
        return {"loop.busy_cycles", "TSC cycles of loop iterations that did work"};
    case counter::loop_idle_cycles:
        return {"loop.idle_cycles", "TSC cycles of loop iterations that found nothing"};
    case counter::storage_blocks_written:
        return {"storage.blocks", "blocks written to files"};
    case counter::storage_bytes_written:
        return {"storage.bytes", "bytes written to files"};
    case counter::storage_write_calls:
        return {"storage.write_calls", "pwritev calls (blocks per call = blocks / calls)"};
    case counter::storage_write_errors:
        return {"storage.write_errors",
                "failed writes: the file is marked failed and never completes"};
    case counter::main_commands:
        return {"main.commands", "commands from the control process handled"};
    case counter::main_commands_failed:
        return {"main.commands_failed", "commands refused (see the reply status)"};
    case counter::main_reply_ring_full:
        return {"main.drop.reply_ring_full", "replies lost: control not draining its ring"};
    case counter::main_bad_version:
        return {"main.drop.bad_version",
                "ring messages of another contract version: mismatched builds"};
    case counter::main_files_closed:
        return {"main.files_closed", "received files flushed and closed (off the service thread)"};
    case counter::main_close_failures:
        return {"main.close_failures",
                "received files whose writes did not drain in time or whose flush failed: "
                "never reported complete"};
    case counter::main_mapping_kept:
        return {"main.mapping_kept",
                "a sent file stayed mapped: the port still held zero-copy frames"};
    case counter::count:
        break;
    }
    return {"invalid", ""};
}

std::string_view fileseg_help(fileseg_drop d) {
    switch (d) {
    case fileseg_drop::unknown_file:
        return "FILESEG for a file ID not open in its session";
    case fileseg_drop::section_out_of_range:
        return "FILESEG section beyond the file's last section";
    case fileseg_drop::block_out_of_range:
        return "FILESEG block beyond its section's block count";
    case fileseg_drop::wrong_length:
        return "FILESEG whose data is not the block's size";
    case fileseg_drop::duplicate:
        return "block already received (repair pass or duplicate on the path)";
    case fileseg_drop::not_authentic:
        return "ENCRYPTED FILESEG that failed authentication: tampered, forged or other keys";
    case fileseg_drop::malformed:
        return "authenticated, but the FILESEG inside does not decode";
    case fileseg_drop::unencrypted:
        return "FILESEG in the clear in an encrypted session: refused (spec 12 #17)";
    default:
        // Reasons added to fileseg_drop later still get a counter and a name.
        break;
    }
    return "FILESEG refused by the receive path (see the counter name)";
}

void copy_text(std::string_view text, char* out, std::size_t size) {
    const std::size_t n = std::min(text.size(), size - 1);
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

} // namespace

void describe(std::size_t index, api::counter_description& out) {
    char name[api::counter_name_bytes];
    if (index < fixed_counters) {
        const counter_info info = describe_fixed(static_cast<counter>(index));
        copy_text(info.name, out.name, sizeof out.name);
        copy_text(info.help, out.help, sizeof out.help);
    } else if (index < fileseg_drop_base) {
        const auto r = static_cast<net::drop_reason>(index - net_drop_base);
        std::snprintf(name, sizeof name, "rx.drop.%.*s", static_cast<int>(net::name(r).size()),
                      net::name(r).data());
        copy_text(name, out.name, sizeof out.name);
        copy_text(net::help(r), out.help, sizeof out.help);
    } else {
        const auto d = static_cast<fileseg_drop>(index - fileseg_drop_base);
        std::snprintf(name, sizeof name, "rx.fileseg.%.*s",
                      static_cast<int>(dataplane::name(d).size()), dataplane::name(d).data());
        copy_text(name, out.name, sizeof out.name);
        copy_text(fileseg_help(d), out.help, sizeof out.help);
    }
}

} // namespace skycast::dataplane

namespace skycast::dataplane {

void publish_seal_counters(const seal::seal_engine& engine, std::uint64_t* block) {
    const seal::seal_counters& c = engine.counters();
    auto set = [&](counter id, std::uint64_t v) {
        std::atomic_ref<std::uint64_t>(block[index_of(id)]).store(v, std::memory_order_relaxed);
    };
    set(counter::crypto_sealed, c.sealed);
    set(counter::crypto_seal_refused, c.seal_refused);
    set(counter::crypto_opened, c.opened);
    set(counter::crypto_open_refused, c.open_refused);
    set(counter::crypto_auth_failures, c.auth_failures);
    set(counter::crypto_device_errors, c.device_errors + c.device_timeouts + c.op_alloc_failures);
    set(counter::crypto_queue_shortfalls, c.enqueue_shortfalls + c.dequeue_shortfalls);
}

} // namespace skycast::dataplane
