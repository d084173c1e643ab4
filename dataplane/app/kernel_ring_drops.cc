#include "dataplane/app/kernel_ring_drops.h"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <linux/if_packet.h>
#include <set>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace skycast::dataplane {
namespace {

// Socket inodes of every AF_PACKET socket in this network namespace
// (/proc/net/packet: "sk RefCnt Type Proto Iface R Rmem User Inode").
std::set<unsigned long> packet_socket_inodes() {
    std::set<unsigned long> inodes;
    FILE* f = std::fopen("/proc/net/packet", "re");
    if (f == nullptr) {
        return inodes;
    }
    char line[512];
    bool header = true;
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (header) {
            header = false;
            continue;
        }
        char sk[64];
        unsigned refcnt, type, proto, iface, running, rmem, user;
        unsigned long inode;
        if (std::sscanf(line, "%63s %u %u %x %u %u %u %u %lu", sk, &refcnt, &type, &proto, &iface,
                        &running, &rmem, &user, &inode) == 9) {
            inodes.insert(inode);
        }
    }
    std::fclose(f);
    return inodes;
}

} // namespace

kernel_ring_drops kernel_ring_drops::find() {
    kernel_ring_drops found;
    const auto inodes = packet_socket_inodes();
    if (inodes.empty()) {
        return found;
    }
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return found;
    }
    while (const dirent* e = ::readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0') {
            continue;
        }
        char target[64];
        const std::string link = std::string("/proc/self/fd/") + e->d_name;
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n <= 0) {
            continue;
        }
        target[n] = '\0';
        unsigned long inode = 0;
        if (std::sscanf(target, "socket:[%lu]", &inode) == 1 && inodes.count(inode) != 0) {
            found._fds.push_back(static_cast<int>(fd));
        }
    }
    ::closedir(dir);
    return found;
}

std::uint64_t kernel_ring_drops::take() {
    std::uint64_t drops = 0;
    for (const int fd : _fds) {
        // tpacket_stats_v3 is the larger form; a TPACKET_V2 socket fills the
        // leading tpacket_stats part.
        tpacket_stats_v3 st{};
        socklen_t len = sizeof st;
        if (::getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
            drops += st.tp_drops;
        }
    }
    return drops;
}

} // namespace skycast::dataplane
