#pragma once
// FEC decoding for one file the dataplane is receiving (docs/protocol.md
// §17), in the control process: the RX lcore hands PARITY datagrams to
// control (they are a few percent of the data), and this keeps them
// (dataplane/core's fec_receiver), rebuilds a group's lost blocks as soon as
// it holds k of its blocks, writes them into the temp file and sets their
// bits in the slot's shared bitmap, as the storage thread does for FILESEGs.
//
// Rebuilding reads the group's received blocks back from the temp file, so
// it waits until the storage thread has written every block the RX lcore
// accepted: the bits it reads from are a snapshot taken before that check,
// and a group that is ready before the storage thread catches up is retried
// (retry()) on the node's next tick.

#include "dataplane/api/block_bitmap.h"
#include "dataplane/api/shared_layout.h"
#include "dataplane/core/fec_receiver.h"
#include "protocol/blocks.h"
#include "protocol/parity.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace skycast::control {

class fec_receive_file final : private dataplane::block_io {
public:
    // Opens the temp file for reading and writing; null (and `error` set)
    // when it cannot, or k is not one the codec takes. Groups as
    // protocol/fec_groups.h lays them out with k and span_groups.
    static std::unique_ptr<fec_receive_file> open(const std::string& temp_path,
                                                  const protocol::section_layout& layout,
                                                  std::uint32_t k, std::uint32_t span_groups,
                                                  std::string& error);
    ~fec_receive_file() override;
    fec_receive_file(const fec_receive_file&) = delete;
    fec_receive_file& operator=(const fec_receive_file&) = delete;

    // `shared`: the slot's bitmap (the file's words) and the slot itself.
    void on_parity(const protocol::parity_msg& msg, std::span<std::uint64_t> shared,
                   const dataplane::api::file_slot& slot, dataplane::fec_decoder& decoder);
    // Rebuilds the groups that were waiting for the storage thread, once it
    // has caught up (one check for all of them); true if any block was rebuilt.
    // When the storage thread wrote blocks since the last call, the groups
    // holding parity that those blocks made ready join the wait first
    // (fec_receiver::sweep_ready, with the storage thread's count).
    bool retry(std::span<std::uint64_t> shared, const dataplane::api::file_slot& slot,
               dataplane::fec_decoder& decoder);
    std::uint32_t deficit_in_section(std::uint32_t section, std::span<std::uint64_t> shared,
                                     std::span<std::uint8_t> out) const;
    // Blocks written here whose bit this set: the storage thread writes and
    // counts the others (blocks_done). A block the RX lcore took while its
    // group was being rebuilt is written by both, and counted once, by the
    // storage thread; counted twice, blocks_done + rebuilt() would pass the
    // file's block count and the file would never be complete.
    std::uint64_t rebuilt() const { return _bits_set; }
    int write_errno() const { return _write_errno; }
    const dataplane::fec_rx_counters& counters() const { return _counters; }
    // Closes its descriptor of the temp file (the dataplane flushes the file
    // after): false if a write failed.
    bool close();

private:
    fec_receive_file(int fd, const protocol::section_layout& layout,
                     dataplane::fec_receiver receiver);
    // Copies group g's bits into _snapshot, which a rebuild reads from.
    void snapshot(std::uint32_t g, std::span<std::uint64_t> shared);
    bool storage_caught_up(std::span<std::uint64_t> shared,
                           const dataplane::api::file_slot& slot) const;
    void rebuild(std::uint32_t g, std::span<std::uint64_t> shared, dataplane::fec_decoder& decoder);
    // block_io over the temp file; write() also sets the shared bit.
    bool read(std::uint32_t block, std::uint64_t offset, std::span<std::uint8_t> out) override;
    bool write(std::uint32_t block, std::uint64_t offset,
               std::span<const std::uint8_t> data) override;

    int _fd = -1;
    protocol::section_layout _layout;
    dataplane::fec_receiver _receiver;
    dataplane::block_bitmap _snapshot;   // the bits a rebuild reads from
    std::span<std::uint64_t> _shared;    // during a rebuild: the slot's bits
    std::vector<std::uint32_t> _waiting; // groups ready before storage caught up
    std::uint64_t _bits_set = 0;         // rebuilt(): bits write() set first
    int _write_errno = 0;
    dataplane::fec_rx_counters _counters;
};

} // namespace skycast::control
