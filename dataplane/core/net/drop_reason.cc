#include "dataplane/core/net/drop_reason.h"

namespace skycast::dataplane::net {
namespace {

struct reason_text {
    std::string_view name;
    std::string_view help;
};

// An exhaustive switch (no default): -Wswitch under -Werror refuses a new
// reason without its text.
constexpr reason_text text(drop_reason r) {
    switch (r) {
    case drop_reason::too_short:
        return {"too_short", "frames shorter than an Ethernet header: a broken peer or NIC"};
    case drop_reason::invalid_source_mac:
        return {
            "invalid_source_mac",
            "frames from a multicast/broadcast source MAC: forged or corrupt frames on the link"};
    case drop_reason::not_our_mac:
        return {
            "not_our_mac",
            "unicast frames for another MAC: the port is promiscuous or the switch floods unicast"};
    case drop_reason::unsupported_ethertype:
        return {
            "unsupported_ethertype",
            "frames neither IPv4 nor ARP (IPv6, LLDP, stacked VLANs): other traffic on the link"};
    case drop_reason::arp_malformed:
        return {"arp_malformed",
                "ARP packets that are not Ethernet/IPv4 or are truncated: a broken peer"};
    case drop_reason::arp_not_for_us:
        return {"arp_not_for_us", "ARP for other addresses: normal on a shared segment; high means "
                                  "a busy broadcast domain"};
    case drop_reason::ipv4_truncated:
        return {"ipv4_truncated",
                "IPv4 frames too short for an IPv4 header: truncation on the path"};
    case drop_reason::ipv4_bad_version:
        return {"ipv4_bad_version", "EtherType IPv4 but version not 4: corrupt frames"};
    case drop_reason::ipv4_bad_header_length:
        return {"ipv4_bad_header_length",
                "IPv4 headers with IHL < 5 or longer than the frame: corruption"};
    case drop_reason::ipv4_bad_total_length:
        return {
            "ipv4_bad_total_length",
            "IPv4 total length shorter than the header or longer than the frame: truncated frames "
            "(check MTU/snap length)"};
    case drop_reason::ipv4_bad_checksum:
        return {"ipv4_bad_checksum",
                "IPv4 header checksum failures: corruption on the link or a bad NIC"};
    case drop_reason::ipv4_fragment:
        return {
            "ipv4_fragment",
            "IPv4 fragments, which are not reassembled: a sender's datagrams exceed the path MTU"};
    case drop_reason::ipv4_bad_source:
        return {"ipv4_bad_source",
                "IPv4 from a multicast, broadcast or zero source: forged packets"};
    case drop_reason::ipv4_not_our_address:
        return {"ipv4_not_our_address", "IPv4 unicast/broadcast for another address: misrouted "
                                        "traffic or a wrong address config"};
    case drop_reason::ipv4_unjoined_group:
        return {
            "ipv4_unjoined_group",
            "multicast for groups we did not join: the MAC filter is loose (all-multicast) or a "
            "switch floods multicast"};
    case drop_reason::unsupported_protocol:
        return {"unsupported_protocol",
                "IPv4 protocols other than UDP/IGMP (TCP, ICMP, ...) addressed to us"};
    case drop_reason::igmp_malformed:
        return {"igmp_malformed",
                "IGMP messages shorter than their type requires: a broken router"};
    case drop_reason::igmp_bad_checksum:
        return {"igmp_bad_checksum", "IGMP checksum failures: corruption or a broken router"};
    case drop_reason::igmp_unsupported_type:
        return {"igmp_unsupported_type",
                "IGMP types a host ignores (DVMRP, mtrace, ...): router chatter"};
    case drop_reason::udp_bad_length:
        return {"udp_bad_length",
                "UDP length below 8 or beyond the IPv4 payload: truncated or forged"};
    case drop_reason::udp_bad_checksum:
        return {"udp_bad_checksum", "UDP checksum failures: corruption the NIC did not catch, or a "
                                    "sender's broken offload"};
    case drop_reason::udp_port_closed:
        return {
            "udp_port_closed",
            "UDP to a port with no session: traffic for a session not (or no longer) open here"};
    case drop_reason::count:
        break;
    }
    return {"unknown", "unknown drop reason"};
}

} // namespace

std::string_view name(drop_reason r) {
    return text(r).name;
}

std::string_view help(drop_reason r) {
    return text(r).help;
}

} // namespace skycast::dataplane::net
