#pragma once
// Reed–Solomon parity for FEC repair (issue 14): per group of k data blocks
// (FILESEG payloads of one block size), h parity blocks, any k of the k + h
// rebuild the group. GF(2^8), so k + h <= 255. The arithmetic is ISA-L's
// (ec_init_tables, ec_encode_data, gf_invert_matrix): nothing here multiplies
// in the field by hand, and this header does not include ISA-L, so its users
// need nothing but the library to link.
//
// Block indices within a group: data 0..k-1, parity k..k+h-1. The last block
// of a file may be short: the caller zero-pads it to the block size for
// coding (encode and decode), and trims what decode rebuilds to the file's
// length.
//
// Encoding is const and allocation-free (the hot-path rule): the tables are
// built once, at construction. Decoding is allocation-free too, but works in
// scratch the codec owns, so one codec decodes on one thread at a time.
// Errors are returned, never thrown (the dataplane builds with cpp_eh=none).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace skycast::dataplane {

enum class fec_error : std::uint8_t {
    ok,
    bad_data_count,           // k outside 1..254
    bad_parity_count,         // h outside 1..255-k
    bad_block_size,           // 0, or beyond ISA-L's int length
    table_layout_unsupported, // ISA-L's tables are not 32 bytes per coefficient, row after row
    wrong_block_count,        // encode given other than k data blocks; decode other than k blocks
    bad_parity_range,         // encode_parity: empty, or not within k..k+h-1
    index_out_of_range,       // decode: a block index >= k + h
    duplicate_index,          // decode: the same block index twice
    null_buffer,              // a block or output pointer is null
    singular_matrix,          // cannot happen with a Cauchy code: reported rather than assumed
    count                     // sentinel
};

// A stable snake_case name for the error.
std::string_view name(fec_error e);

// What fec_codec::create returns: the codec, or why there is none.
struct fec_codec_result;

class fec_codec {
public:
    // k + h at most: GF(2^8) has 256 elements and ISA-L's Cauchy matrix
    // gives every block index its own one, so a group is at most the classic
    // Reed–Solomon length 2^8 - 1.
    static constexpr std::uint32_t max_blocks = 255;
    // Missing data blocks one decode can rebuild: e <= min(k, h) <= 255 / 2.
    static constexpr std::uint32_t max_erasures = max_blocks / 2;

    // Validates (k, h, block size) and builds the encode tables. Allocates
    // (32 * k * h bytes of tables, decode scratch of the same order): call it
    // when a session starts, not per packet.
    static fec_codec_result create(std::uint32_t k, std::uint32_t h, std::size_t block_size);

    // An empty codec: every call fails with bad_data_count. Exists so that a
    // result can hold one; use create().
    fec_codec() = default;

    std::uint32_t data_blocks() const { return _k; }
    std::uint32_t parity_blocks() const { return _h; }
    std::size_t block_size() const { return _block_size; }

    // All h parity blocks: `parity[i]` receives block k + i. `data` holds the
    // k data blocks in order. Each buffer is block_size() bytes. Does not
    // allocate; safe to call from several threads at once.
    fec_error encode(std::span<const std::uint8_t* const> data,
                     std::span<std::uint8_t* const> parity) const;

    // Only parity blocks first_index .. first_index + parity.size() - 1
    // (block indices, so first_index >= k): what reactive repair sends when
    // receivers still miss blocks after the parity sent up front. Costs only
    // the rows asked for; the result is byte for byte those rows of encode().
    fec_error encode_parity(std::span<const std::uint8_t* const> data, std::uint32_t first_index,
                            std::span<std::uint8_t* const> parity) const;

    // Rebuilds the group's missing data blocks from any k of its blocks.
    // `indices[i]` names the block in `blocks[i]`: exactly k distinct indices
    // below k + h, in any order. `data_out` has k entries, one per data index:
    // the entry of each data block NOT among `indices` receives it (and must
    // not be null); the others are ignored and may be null. Missing parity is
    // not rebuilt (encode_parity does that from the data). Does not allocate;
    // not reentrant (the codec's scratch holds the decode matrix).
    fec_error decode(std::span<const std::uint32_t> indices,
                     std::span<const std::uint8_t* const> blocks,
                     std::span<std::uint8_t* const> data_out);

private:
    std::uint32_t _k = 0;
    std::uint32_t _h = 0;
    std::size_t _block_size = 0;
    // The parity rows of the systematic generator matrix (h x k, row i makes
    // block k + i); the data rows are the identity and are not stored.
    std::vector<std::uint8_t> _parity_matrix;
    // ISA-L's expanded multiplication tables of _parity_matrix: 32 bytes per
    // coefficient, row after row, so rows j..j+n are one contiguous slice.
    std::vector<std::uint8_t> _encode_tables;
    // Decode scratch, sized for the worst pattern (e = min(h, k) missing).
    std::vector<std::uint8_t> _sub;         // e x e: parity rows x missing columns
    std::vector<std::uint8_t> _sub_inverse; // e x e
    std::vector<std::uint8_t> _sub_tables;  // 32 * e * e
    std::vector<std::uint8_t>
        _received_cols;                // e x (k - e), rows padded: parity rows x received data
    std::vector<std::uint8_t> _folded; // the same shape: _sub_inverse x _received_cols
    std::vector<std::uint8_t> _decode_matrix; // e x k
    std::vector<std::uint8_t> _decode_tables; // 32 * k * e
};

struct fec_codec_result {
    fec_codec codec;
    fec_error error = fec_error::ok;
    bool ok() const { return error == fec_error::ok; }
};

} // namespace skycast::dataplane
