#include "control/dataplane_link/fec_receive_file.h"

#include "control/dataplane_link/dataplane_link.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace skycast::control {
namespace {

dataplane::block_bitmap_view view_of(std::span<std::uint64_t> words,
                                     const protocol::section_layout& layout) {
    return {words.first(dataplane::block_bitmap_view::words_for(layout.blocks())), layout.blocks()};
}

} // namespace

std::unique_ptr<fec_receive_file> fec_receive_file::open(const std::string& temp_path,
                                                         const protocol::section_layout& layout,
                                                         std::uint32_t k, std::uint32_t span_groups,
                                                         std::string& error) {
    auto receiver = dataplane::fec_receiver::create(layout, k, span_groups);
    if (!receiver) {
        error = "FEC group of " + std::to_string(k) + " blocks cannot be decoded";
        return nullptr;
    }
    const int fd = ::open(temp_path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        error = "cannot open " + temp_path + " to rebuild blocks: " + std::strerror(errno);
        return nullptr;
    }
    return std::unique_ptr<fec_receive_file>(
        new fec_receive_file(fd, layout, std::move(*receiver)));
}

fec_receive_file::fec_receive_file(int fd, const protocol::section_layout& layout,
                                   dataplane::fec_receiver receiver)
    : _fd(fd), _layout(layout), _receiver(std::move(receiver)), _snapshot(layout.blocks()) {}

fec_receive_file::~fec_receive_file() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

void fec_receive_file::on_parity(const protocol::parity_msg& msg, std::span<std::uint64_t> shared,
                                 const dataplane::api::file_slot& slot,
                                 dataplane::fec_decoder& decoder) {
    if (const auto g = _receiver.accept(msg, view_of(shared, _layout), _counters)) {
        snapshot(*g, shared);
        if (storage_caught_up(shared, slot)) {
            rebuild(*g, shared, decoder);
        } else {
            _waiting.push_back(*g);
        }
    }
}

bool fec_receive_file::retry(std::span<std::uint64_t> shared, const dataplane::api::file_slot& slot,
                             dataplane::fec_decoder& decoder) {
    // The storage thread's count, not the RX lcore's: the RX lcore counts
    // a FILESEG before it sets the block's bit, the storage thread counts a
    // block after.
    const std::uint64_t storage = slot.blocks_done.load(std::memory_order_acquire) +
                                  slot.write_errors.load(std::memory_order_acquire);
    if (_receiver.next_sweep(storage)) {
        _receiver.sweep_ready(storage, steady_ns(), view_of(shared, _layout), _waiting, _counters);
    }
    if (_waiting.empty()) {
        return false;
    }
    for (const std::uint32_t g : _waiting) {
        snapshot(g, shared);
    }
    if (!storage_caught_up(shared, slot)) {
        return false; // try again on the next tick
    }
    const std::uint64_t before = _bits_set;
    for (const std::uint32_t g : _waiting) {
        rebuild(g, shared, decoder);
    }
    _waiting.clear();
    return _bits_set != before;
}

// Rebuilding reads a group's received blocks back from the temp file, so
// it takes the group's bits first (snapshot()) and then checks that the
// storage thread has written every block accepted so far (this): the
// snapshot's blocks are then all in the file. (The RX lcore sets a bit
// before storage writes the block; blocks rebuilt here are in the count but
// not in blocks_done.)
bool fec_receive_file::storage_caught_up(std::span<std::uint64_t> shared,
                                         const dataplane::api::file_slot& slot) const {
    const std::uint64_t accepted = view_of(shared, _layout).count();
    const std::uint64_t written = slot.blocks_done.load(std::memory_order_acquire) +
                                  slot.write_errors.load(std::memory_order_acquire) + _bits_set;
    return accepted <= written;
}

void fec_receive_file::snapshot(std::uint32_t g, std::span<std::uint64_t> shared) {
    const auto& groups = _receiver.groups();
    // The words the group's k blocks lie in (interleaved, they are spread
    // over the span: not every word between its first and last).
    const auto blocks = groups.blocks_of(g);
    for (std::uint32_t i = 0; i < blocks.count; ++i) {
        const std::uint32_t w = blocks.at(i) / 64;
        _snapshot.words()[w] =
            std::atomic_ref<std::uint64_t>(shared[w]).load(std::memory_order_acquire);
    }
}

void fec_receive_file::rebuild(std::uint32_t g, std::span<std::uint64_t> shared,
                               dataplane::fec_decoder& decoder) {
    _shared = shared;
    // Rebuilt, or failed and counted (decode_failed), the group's parity
    // released and its blocks left to the NAKs: done either way.
    (void)_receiver.rebuild(g, _snapshot.view(), *this, decoder, _counters);
    _shared = {};
}

std::uint32_t fec_receive_file::deficit_in_section(std::uint32_t section,
                                                   std::span<std::uint64_t> shared,
                                                   std::span<std::uint8_t> out) const {
    return _receiver.deficit_in_section(section, view_of(shared, _layout), out);
}

bool fec_receive_file::read(std::uint32_t, std::uint64_t offset, std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n =
            ::pread(_fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool fec_receive_file::write(std::uint32_t block, std::uint64_t offset,
                             std::span<const std::uint8_t> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::pwrite(_fd, data.data() + done, data.size() - done,
                                   static_cast<off_t>(offset + done));
        if (n <= 0) {
            if (_write_errno == 0) {
                _write_errno = n < 0 ? errno : ENOSPC;
            }
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    // Published like the storage thread's blocks: the bytes are in the file
    // before the bit says so. Already set: the RX lcore took the block since
    // the snapshot, and the storage thread writes (the same bytes) and
    // counts it.
    if (view_of(_shared, _layout).set(block)) {
        ++_bits_set;
    }
    return true;
}

bool fec_receive_file::close() {
    if (_fd < 0) {
        return _write_errno == 0;
    }
    // No fdatasync here: the dataplane flushes the file after this
    // (file_closer.h), and that writes back every dirty page of the file,
    // these too, and reports their writeback errors.
    const bool closed = ::close(_fd) == 0;
    _fd = -1;
    return closed && _write_errno == 0;
}

} // namespace skycast::control
