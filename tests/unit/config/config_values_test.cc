// The scalar notations of the configuration file (config/values.h), each
// accepted in its documented forms and refused with a message otherwise.
#include "config/values.h"

#include <gtest/gtest.h>

namespace skycast::config {
namespace {

std::vector<unsigned> ids(std::string_view text) {
    auto r = parse_lcore_list(text);
    EXPECT_TRUE(r) << text << ": " << r.error;
    return r ? *r : std::vector<unsigned>{};
}

TEST(ConfigValues, LcoreListForms) {
    EXPECT_EQ(ids("0"), (std::vector<unsigned>{0}));
    EXPECT_EQ(ids("0-3,5"), (std::vector<unsigned>{0, 1, 2, 3, 5}));
    EXPECT_EQ(ids("8@(0-1)"), (std::vector<unsigned>{8}));
    EXPECT_EQ(ids("(0-1)@0,2@(0,1),7"), (std::vector<unsigned>{0, 1, 2, 7}));
    EXPECT_EQ(ids("0@(0-1)"), (std::vector<unsigned>{0}));
}

TEST(ConfigValues, LcoreListRefusals) {
    for (auto bad : {"", "a", "3-1", "0,,1", "(0-1", "0-1)", "((0))", "0@", "0@(x)", "128",
                     "0@1024", "1,1", "0-2,2"}) {
        auto r = parse_lcore_list(bad);
        EXPECT_FALSE(r) << bad;
        EXPECT_FALSE(r.error.empty()) << bad;
    }
    EXPECT_NE(parse_lcore_list("1,0-1").error.find("names lcore 1 twice"), std::string::npos);
    EXPECT_NE(parse_lcore_list("200").error.find("above the maximum 127"), std::string::npos);
}

TEST(ConfigValues, Ipv4) {
    EXPECT_EQ(*parse_ipv4("10.77.0.1"), 0x0A4D0001u);
    EXPECT_EQ(*parse_ipv4("255.255.255.255"), 0xFFFFFFFFu);
    for (auto bad : {"10.77.0", "10.77.0.1.2", "10.77.0.256", "10.077.0.1", "10.77.0.-1",
                     "10.77.0.1 ", "a.b.c.d", ""}) {
        EXPECT_FALSE(parse_ipv4(bad)) << bad;
    }
    EXPECT_EQ(format_ipv4(0xE6040401), "230.4.4.1");
    EXPECT_TRUE(is_multicast(0xE0000001));
    EXPECT_TRUE(is_multicast(0xEFFFFFFF));
    EXPECT_FALSE(is_multicast(0xF0000000));
    EXPECT_FALSE(is_multicast(0xDFFFFFFF));
}

TEST(ConfigValues, Ipv4Interface) {
    auto i = parse_ipv4_interface("10.77.0.1/24");
    ASSERT_TRUE(i) << i.error;
    EXPECT_EQ(i->address, 0x0A4D0001u);
    EXPECT_EQ(i->prefix_length, 24);
    EXPECT_EQ(i->netmask(), 0xFFFFFF00u);
    EXPECT_EQ(i->network(), 0x0A4D0000u);
    EXPECT_TRUE(i->contains(0x0A4D00FE));
    EXPECT_FALSE(i->contains(0x0A4E0001));
    EXPECT_EQ(parse_ipv4_interface("10.0.0.1/32")->netmask(), 0xFFFFFFFFu);
    EXPECT_NE(parse_ipv4_interface("10.77.0.1").error.find("no prefix length"), std::string::npos);
    for (auto bad : {"10.77.0.1/0", "10.77.0.1/33", "10.77.0.1/", "10.77.0.1/x", "1.2.3/8"}) {
        EXPECT_FALSE(parse_ipv4_interface(bad)) << bad;
    }
}

TEST(ConfigValues, Mac) {
    EXPECT_EQ(*parse_mac("02:00:00:00:00:01"), (mac_address{2, 0, 0, 0, 0, 1}));
    EXPECT_EQ(*parse_mac("0a-0B-0c-0d-0e-0f"), (mac_address{10, 11, 12, 13, 14, 15}));
    for (auto bad :
         {"02:00:00:00:00", "02:00:00:00:00:01:02", "2:0:0:0:0:1", "02:00:00:00:00:g1"}) {
        EXPECT_FALSE(parse_mac(bad)) << bad;
    }
}

TEST(ConfigValues, RateSuffixes) {
    EXPECT_EQ(*parse_rate("900M"), 900'000'000u);
    EXPECT_EQ(*parse_rate("1.5G"), 1'500'000'000u);
    EXPECT_EQ(*parse_rate("10K"), 10'000u);
    EXPECT_EQ(*parse_rate("10k"), 10'000u);
    EXPECT_EQ(*parse_rate("250000"), 250'000u);
    EXPECT_EQ(*parse_rate("0.1T"), 100'000'000'000u);
    for (auto bad : {"", "M", "900X", "-1M", "1.5", "0.0001K", "1e9", ".5G", "1 G"}) {
        EXPECT_FALSE(parse_rate(bad)) << bad;
    }
}

TEST(ConfigValues, DurationUnits) {
    EXPECT_DOUBLE_EQ(*parse_duration("500ms"), 0.5);
    EXPECT_DOUBLE_EQ(*parse_duration("1.5s"), 1.5);
    EXPECT_DOUBLE_EQ(*parse_duration("0.01"), 0.01);
    EXPECT_DOUBLE_EQ(*parse_duration("250us"), 0.00025);
    EXPECT_DOUBLE_EQ(*parse_duration("2min"), 120.0);
    for (auto bad : {"", "s", "ms", "5h", "-1s", "1.2.3s", "five"}) {
        EXPECT_FALSE(parse_duration(bad)) << bad;
    }
}

TEST(ConfigValues, DeviceStrings) {
    EXPECT_EQ(*parse_device("0000:03:00.0"), device_kind::pci);
    EXPECT_EQ(*parse_device("03:00.1"), device_kind::pci);
    EXPECT_EQ(*parse_device("0000:af:1f.7"), device_kind::pci);
    EXPECT_EQ(*parse_device("net_null0"), device_kind::vdev);
    EXPECT_EQ(*parse_device("net_af_packet0,iface=hub0,blocksz=16384,framesz=16384,"
                            "framecnt=512,qdisc_bypass=0"),
              device_kind::vdev);
    EXPECT_EQ(*parse_device("crypto_aesni_gcm0"), device_kind::vdev);
    for (auto bad :
         {"", "0000:03:00", "0000:03:20.0", "0000:03:00.8", "000:03:00.0", "net af_packet0",
          "Net_null0", "net_null0,iface", "net_null0,=x", "net_null0,iface=", "0net"}) {
        EXPECT_FALSE(parse_device(bad)) << bad;
    }
}

TEST(ConfigValues, Uids) {
    EXPECT_EQ(*parse_uid("0x0A4D0001"), 0x0A4D0001u);
    EXPECT_EQ(*parse_uid("0xffffffff"), 0xFFFFFFFFu);
    EXPECT_EQ(*parse_uid("10.77.0.11"), 0x0A4D000Bu);
    EXPECT_EQ(*parse_uid("42"), 42u);
    EXPECT_NE(parse_uid("0x0").error.find("reserved"), std::string::npos);
    for (auto bad : {"", "0x", "0x100000000", "0xg", "4294967296", "10.77.0", "-1"}) {
        EXPECT_FALSE(parse_uid(bad)) << bad;
    }
    EXPECT_EQ(format_uid(0x0A4D0001), "0x0A4D0001");
}

TEST(ConfigValues, Fingerprints) {
    const std::string fp = "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34";
    auto r = parse_fingerprint(fp);
    ASSERT_TRUE(r) << r.error;
    EXPECT_EQ((*r)[0], 0xA1);
    EXPECT_EQ((*r)[19], 0x34);
    EXPECT_TRUE(parse_fingerprint("a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f:90:01:12:23:34"));
    EXPECT_FALSE(parse_fingerprint(fp.substr(3)));
    EXPECT_FALSE(parse_fingerprint(fp + ":00"));
    EXPECT_FALSE(parse_fingerprint("A1B2C3D4E5F60718293A4B5C6D7E8F9001122334"));
}

} // namespace
} // namespace skycast::config
