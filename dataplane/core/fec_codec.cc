// Reed–Solomon over GF(2^8) with ISA-L.
//
// The code. Block b of a group is row b of a (k + h) x k generator matrix G
// times the k data blocks (each byte position independently). G is
// systematic: rows 0..k-1 are the identity, so data blocks go out as they
// are, and rows k..k+h-1 (the parity rows, P) come from ISA-L's
// gf_gen_cauchy1_matrix: P[i][j] = 1 / (x_i + y_j) with x_i = k + i and
// y_j = j, the + being XOR. A receiver that holds any k blocks can rebuild the
// data exactly when the k rows of G it holds form an invertible matrix.
//
// Why Cauchy. Take any k rows of G, say those of the r data blocks received
// and e = k - r parity rows. Eliminating the identity rows leaves the e x e
// block of P made of the received parity rows and the MISSING data columns,
// and the k x k matrix is invertible exactly when that block is. Every square
// submatrix of a Cauchy matrix is itself a Cauchy matrix (with distinct x's,
// distinct y's and no x equal to a y, all true here), and a Cauchy matrix is
// invertible. So every pattern of k blocks out of k + h decodes, for every k
// and h with k + h <= 255. ISA-L's other generator, gf_gen_rs_matrix
// (Vandermonde rows stacked under an identity, without the column operations
// that would keep that MDS), has singular submatrices for some patterns once
// k and h grow (its header lists the only safe ranges), and a pattern that
// cannot decode would be a group lost for good.
//
// How decoding works. With M the missing data indices (|M| = e), R the
// received data indices, and Q the received parity rows (|Q| = e too, since k
// blocks arrived), each received parity block is
//     p_q = sum_{j in R} P[q][j] d_j + sum_{j in M} P[q][j] d_j,
// so, as subtraction is addition in GF(2^8),
//     P[Q][M] d_M = p_Q + P[Q][R] d_R
//     d_M = A p_Q + (A P[Q][R]) d_R,   with A = P[Q][M]^-1 (e x e, Cauchy).
// That is one e x k matrix D (columns: the received blocks in the caller's
// order; A's entries under parity blocks, A P[Q][R]'s under data blocks),
// applied to the k received blocks by the same ec_encode_data that encodes.
// This is the textbook "invert the k x k submatrix of the received rows and
// keep the missing rows" with the identity rows eliminated first: an e x e
// inversion and an e x e x r product instead of a k x k inversion (O(k^3)).
// perf/fec_bench.cc measures both set-ups: at k = 239, h = 16 with 16 blocks
// lost, about 50 us against 40 ms; at k = 64, h = 8, 8 us against 0.9 ms.
// The product A P[Q][R] is itself computed by ec_encode_data (the e rows of
// P[Q][R] as sources, A as coefficients): all field arithmetic stays ISA-L's.
//
// Nothing is cached across decodes: each group's erasure pattern is its own.
// The set-up (ec_init_tables expanding e x k coefficients, and the e x e
// inversion, about equally) is small beside the data pass of jumbo blocks,
// less so beside that of 1300-byte ones: see the figures in perf/README.md.
#include "dataplane/core/fec_codec.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <isa-l/erasure_code.h>

namespace skycast::dataplane {

namespace {

// ISA-L expands each coefficient into 32 bytes of lookup tables.
constexpr std::size_t table_bytes = 32;

// ec_encode_data hands lengths below its vector width (64 bytes with
// AVX-512, 32 with AVX2, 16 with SSE) to a scalar loop that looks up two
// logarithms per byte and coefficient. The decode set-up's fold runs over
// k - e bytes, 56 at k = 64, h = 8, where that loop took 7 of the set-up's
// 15 us: its rows are padded to 64 bytes (what the pad computes is unused).
constexpr std::size_t fold_min_len = 64;

} // namespace

std::string_view name(fec_error e) {
    switch (e) {
    case fec_error::ok:
        return "ok";
    case fec_error::bad_data_count:
        return "bad_data_count";
    case fec_error::bad_parity_count:
        return "bad_parity_count";
    case fec_error::bad_block_size:
        return "bad_block_size";
    case fec_error::table_layout_unsupported:
        return "table_layout_unsupported";
    case fec_error::wrong_block_count:
        return "wrong_block_count";
    case fec_error::bad_parity_range:
        return "bad_parity_range";
    case fec_error::index_out_of_range:
        return "index_out_of_range";
    case fec_error::duplicate_index:
        return "duplicate_index";
    case fec_error::null_buffer:
        return "null_buffer";
    case fec_error::singular_matrix:
        return "singular_matrix";
    case fec_error::count:
        break;
    }
    return "unknown";
}

fec_codec_result fec_codec::create(std::uint32_t k, std::uint32_t h, std::size_t block_size) {
    fec_codec_result out;
    if (k < 1 || k >= max_blocks) {
        out.error = fec_error::bad_data_count;
        return out;
    }
    if (h < 1 || h > max_blocks - k) {
        out.error = fec_error::bad_parity_count;
        return out;
    }
    // ec_encode_data takes the length as an int.
    if (block_size == 0 || block_size > static_cast<std::size_t>(INT_MAX)) {
        out.error = fec_error::bad_block_size;
        return out;
    }
    const int ki = static_cast<int>(k);
    const int hi = static_cast<int>(h);
    fec_codec& c = out.codec;
    c._k = k;
    c._h = h;
    c._block_size = block_size;

    // ISA-L writes the whole (k + h) x k matrix, identity on top; only the
    // parity rows are kept.
    std::vector<std::uint8_t> generator(std::size_t{k + h} * k);
    gf_gen_cauchy1_matrix(generator.data(), ki + hi, ki);
    c._parity_matrix.assign(generator.begin() + std::ptrdiff_t{k} * k, generator.end());
    c._encode_tables.resize(table_bytes * k * h);
    ec_init_tables(ki, hi, c._parity_matrix.data(), c._encode_tables.data());

    // Decode scratch for the worst pattern: e = min(k, h) missing. P[Q][R]
    // is e x (k - e) for the actual e, which never exceeds e_max x (k - 1).
    const std::size_t e = std::min(k, h);
    c._sub.resize(e * e);
    c._sub_inverse.resize(e * e);
    c._sub_tables.resize(table_bytes * e * e);
    c._received_cols.resize(e * std::max<std::size_t>(k - 1, fold_min_len));
    c._folded.resize(c._received_cols.size());
    c._decode_matrix.resize(e * k);
    c._decode_tables.resize(table_bytes * k * e);

    // encode_parity hands ISA-L a slice of _encode_tables starting at a later
    // row, which is right only if the tables are laid out 32 bytes per
    // coefficient, row after row (ISA-L 2.30's layout; a release whose
    // GFNI path packs them differently would break it). Check once, here,
    // that the last row's slice is what that row alone expands to.
    ec_init_tables(ki, 1, c._parity_matrix.data() + std::size_t{h - 1} * k,
                   c._decode_tables.data());
    if (std::memcmp(c._decode_tables.data(), c._encode_tables.data() + table_bytes * k * (h - 1),
                    table_bytes * k) != 0) {
        out.codec = fec_codec{};
        out.error = fec_error::table_layout_unsupported;
    }
    return out;
}

fec_error fec_codec::encode(std::span<const std::uint8_t* const> data,
                            std::span<std::uint8_t* const> parity) const {
    if (_k == 0) {
        return fec_error::bad_data_count;
    }
    if (parity.size() != _h) {
        return fec_error::wrong_block_count;
    }
    return encode_parity(data, _k, parity);
}

fec_error fec_codec::encode_parity(std::span<const std::uint8_t* const> data,
                                   std::uint32_t first_index,
                                   std::span<std::uint8_t* const> parity) const {
    if (_k == 0) {
        return fec_error::bad_data_count;
    }
    if (data.size() != _k) {
        return fec_error::wrong_block_count;
    }
    if (parity.empty() || first_index < _k || first_index - _k > _h ||
        parity.size() > _h - (first_index - _k)) {
        return fec_error::bad_parity_range;
    }
    for (const auto* p : data) {
        if (p == nullptr) {
            return fec_error::null_buffer;
        }
    }
    for (const auto* p : parity) {
        if (p == nullptr) {
            return fec_error::null_buffer;
        }
    }
    // Row i's tables are the 32 * k bytes at 32 * k * i (checked in create),
    // so a run of rows is a slice and nothing is expanded per call. ISA-L's
    // prototypes are not const-correct: it reads the sources and the tables.
    const std::size_t row = first_index - _k;
    ec_encode_data(
        static_cast<int>(_block_size), static_cast<int>(_k), static_cast<int>(parity.size()),
        const_cast<std::uint8_t*>(_encode_tables.data() + table_bytes * _k * row),
        const_cast<std::uint8_t**>(data.data()), const_cast<std::uint8_t**>(parity.data()));
    return fec_error::ok;
}

fec_error fec_codec::decode(std::span<const std::uint32_t> indices,
                            std::span<const std::uint8_t* const> blocks,
                            std::span<std::uint8_t* const> data_out) {
    if (_k == 0) {
        return fec_error::bad_data_count;
    }
    if (indices.size() != _k || blocks.size() != _k || data_out.size() != _k) {
        return fec_error::wrong_block_count;
    }
    std::array<bool, max_blocks> present{};
    for (std::size_t i = 0; i < _k; ++i) {
        const std::uint32_t b = indices[i];
        if (b >= _k + _h) {
            return fec_error::index_out_of_range;
        }
        if (present[b]) {
            return fec_error::duplicate_index;
        }
        present[b] = true;
        if (blocks[i] == nullptr) {
            return fec_error::null_buffer;
        }
    }

    // M, the missing data indices in increasing order, and where each goes.
    std::array<std::uint8_t, max_erasures> missing{};
    std::array<std::uint8_t*, max_erasures> outputs{};
    std::size_t e = 0;
    for (std::uint32_t d = 0; d < _k; ++d) {
        if (present[d]) {
            continue;
        }
        if (data_out[d] == nullptr) {
            return fec_error::null_buffer;
        }
        // k blocks arrived, so at most min(k, h) data blocks are missing.
        missing[e] = static_cast<std::uint8_t>(d);
        outputs[e] = data_out[d];
        ++e;
    }
    if (e == 0) {
        return fec_error::ok; // every data block arrived: nothing to rebuild
    }
    const std::size_t k = _k;
    const std::size_t r = k - e;
    const std::size_t stride = std::max(r, fold_min_len); // of P[Q][R]'s rows

    // P[Q][M] and P[Q][R], Q and R in the caller's order (so that D's columns
    // line up with `blocks` without reordering them).
    std::size_t q = 0;
    for (std::size_t i = 0; i < k; ++i) {
        if (indices[i] < _k) {
            continue;
        }
        const std::uint8_t* prow = _parity_matrix.data() + std::size_t{indices[i] - _k} * k;
        for (std::size_t m = 0; m < e; ++m) {
            _sub[q * e + m] = prow[missing[m]];
        }
        std::size_t c = 0;
        for (std::size_t j = 0; j < k; ++j) {
            if (indices[j] < _k) {
                _received_cols[q * stride + c] = prow[indices[j]];
                ++c;
            }
        }
        ++q;
    }

    // A = P[Q][M]^-1 (gf_invert_matrix destroys _sub).
    if (gf_invert_matrix(_sub.data(), _sub_inverse.data(), static_cast<int>(e)) != 0) {
        return fec_error::singular_matrix;
    }
    const int ei = static_cast<int>(e);
    if (r > 0) {
        // A P[Q][R], by ISA-L: output row m = sum over a of A[m][a] times
        // source row a, the sources being the rows of P[Q][R] (r bytes each,
        // `stride` with the pad).
        std::array<std::uint8_t*, max_erasures> src{};
        std::array<std::uint8_t*, max_erasures> dst{};
        for (std::size_t a = 0; a < e; ++a) {
            src[a] = _received_cols.data() + a * stride;
            dst[a] = _folded.data() + a * stride;
        }
        ec_init_tables(ei, ei, _sub_inverse.data(), _sub_tables.data());
        ec_encode_data(static_cast<int>(stride), ei, ei, _sub_tables.data(), src.data(),
                       dst.data());
    }

    // D: row m rebuilds missing[m]; column i multiplies blocks[i].
    std::size_t c = 0;
    std::size_t a = 0;
    for (std::size_t i = 0; i < k; ++i) {
        if (indices[i] < _k) {
            for (std::size_t m = 0; m < e; ++m) {
                _decode_matrix[m * k + i] = _folded[m * stride + c];
            }
            ++c;
        } else {
            for (std::size_t m = 0; m < e; ++m) {
                _decode_matrix[m * k + i] = _sub_inverse[m * e + a];
            }
            ++a;
        }
    }
    const int ki = static_cast<int>(_k);
    ec_init_tables(ki, ei, _decode_matrix.data(), _decode_tables.data());
    ec_encode_data(static_cast<int>(_block_size), ki, ei, _decode_tables.data(),
                   const_cast<std::uint8_t**>(blocks.data()), outputs.data());
    return fec_error::ok;
}

} // namespace skycast::dataplane
