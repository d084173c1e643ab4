#include "crypto/curves.h"

#include <array>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <string>

namespace skycast::crypto {
namespace {

constexpr std::array<curve_info, 25> curves{{
    {1, NID_sect163k1, "sect163k1"},          {2, NID_sect163r1, "sect163r1"},
    {3, NID_sect163r2, "sect163r2"},          {4, NID_sect193r1, "sect193r1"},
    {5, NID_sect193r2, "sect193r2"},          {6, NID_sect233k1, "sect233k1"},
    {7, NID_sect233r1, "sect233r1"},          {8, NID_sect239k1, "sect239k1"},
    {9, NID_sect283k1, "sect283k1"},          {10, NID_sect283r1, "sect283r1"},
    {11, NID_sect409k1, "sect409k1"},         {12, NID_sect409r1, "sect409r1"},
    {13, NID_sect571k1, "sect571k1"},         {14, NID_sect571r1, "sect571r1"},
    {15, NID_secp160k1, "secp160k1"},         {16, NID_secp160r1, "secp160r1"},
    {17, NID_secp160r2, "secp160r2"},         {18, NID_secp192k1, "secp192k1"},
    {19, NID_X9_62_prime192v1, "prime192v1"}, {20, NID_secp224k1, "secp224k1"},
    {21, NID_secp224r1, "secp224r1"},         {22, NID_secp256k1, "secp256k1"},
    {23, NID_X9_62_prime256v1, "prime256v1"}, {24, NID_secp384r1, "secp384r1"},
    {25, NID_secp521r1, "secp521r1"},
}};

} // namespace

std::span<const curve_info> all_curves() {
    return curves;
}

const curve_info* curve_by_id(std::uint8_t id) {
    for (const auto& c : curves) {
        if (c.id == id) {
            return &c;
        }
    }
    return nullptr;
}

const curve_info* curve_by_nid(int nid) {
    for (const auto& c : curves) {
        if (c.nid == nid) {
            return &c;
        }
    }
    return nullptr;
}

const curve_info* curve_by_name(std::string_view name) {
    if (name == "secp256r1") {
        return curve_by_nid(NID_X9_62_prime256v1);
    }
    if (name == "secp192r1") {
        return curve_by_nid(NID_X9_62_prime192v1);
    }
    for (const auto& c : curves) {
        if (c.name == name) {
            return &c;
        }
    }
    const std::string s(name);
    const int nist = EC_curve_nist2nid(s.c_str());
    return nist == NID_undef ? nullptr : curve_by_nid(nist);
}

} // namespace skycast::crypto
