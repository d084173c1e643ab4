// The YAML loader (config/loader.h): one test per rejection class, each
// asserting the file:line:column and key path the message carries; then the
// values a valid file gives (defaults, units), the shipped examples, and the
// numbers config/ must agree on with protocol/ and crypto/.
#include "config/loader.h"
#include "crypto/curves.h"
#include "crypto/packet_cipher.h"
#include "crypto/suites.h"
#include "protocol/codec.h"
#include "protocol/constants.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace skycast::config {
namespace {

using ::testing::HasSubstr;

// A minimal valid sender; line numbers matter to the tests below:
//  1 dataplane:            7       address: 10.0.0.1/24
//  2   eal:                8 control:
//  3     lcores: "0"       9   role: sender
//  4     file_prefix: t   10   eal:
//  5   ports:             11     lcores: "8"
//  6     - device: ...    12   rate: 100M
const std::string sender_base = "dataplane:\n"
                                "  eal:\n"
                                "    lcores: \"0\"\n"
                                "    file_prefix: t\n"
                                "  ports:\n"
                                "    - device: net_null0\n"
                                "      address: 10.0.0.1/24\n"
                                "control:\n"
                                "  role: sender\n"
                                "  eal:\n"
                                "    lcores: \"8\"\n"
                                "  rate: 100M\n";

// The same dataplane with a receiver's control section (lines 8..12).
const std::string receiver_base = "dataplane:\n"
                                  "  eal:\n"
                                  "    lcores: \"0\"\n"
                                  "    file_prefix: t\n"
                                  "  ports:\n"
                                  "    - device: net_null0\n"
                                  "      address: 10.0.0.1/24\n"
                                  "control:\n"
                                  "  role: receiver\n"
                                  "  eal:\n"
                                  "    lcores: \"8\"\n"
                                  "  destination: /srv/in\n";

// `text` with the first occurrence of `from` replaced by `to`.
std::string with(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << "test bug: '" << from << "' not in the base";
    if (pos != std::string::npos) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

std::vector<config_issue> issues_of(const std::string& text) {
    try {
        (void)parse_node_config(text, "t.yaml");
    } catch (const config_error& e) {
        EXPECT_EQ(e.code(), config_errc::invalid);
        return e.issues();
    }
    return {};
}

// Exactly one issue, at line:column with `path`, its message containing
// `message`; the printed form is "t.yaml:L:C: path: message".
void expect_one(const std::string& text, std::uint32_t line, std::uint32_t column,
                const std::string& path, const std::string& message) {
    const auto issues = issues_of(text);
    ASSERT_EQ(issues.size(), 1u) << [&] {
        std::string all;
        for (const auto& i : issues) {
            all += i.to_string() + "\n";
        }
        return all;
    }();
    const auto& i = issues.front();
    EXPECT_EQ(i.file, "t.yaml");
    EXPECT_EQ(i.line, line) << i.to_string();
    EXPECT_EQ(i.column, column) << i.to_string();
    EXPECT_EQ(i.path, path) << i.to_string();
    EXPECT_THAT(i.message, HasSubstr(message)) << i.to_string();
    const std::string prefix = "t.yaml:" + std::to_string(line) + ":" + std::to_string(column) +
                               ": " + (path.empty() ? "" : path + ": ");
    EXPECT_EQ(i.to_string().rfind(prefix, 0), 0u) << i.to_string();
}

node_config load_ok(const std::string& text) {
    try {
        return parse_node_config(text, "t.yaml");
    } catch (const config_error& e) {
        ADD_FAILURE() << e.what();
        return {};
    }
}

TEST(ConfigLoader, BasesAreValid) {
    load_ok(sender_base);
    load_ok(receiver_base);
}

// ---- one test per rejection class ----

TEST(ConfigReject, UnknownKeyTopLevel) {
    expect_one(sender_base + "extra: 1\n", 13, 1, "extra",
               "unknown key (expected one of: dataplane, control)");
}

TEST(ConfigReject, UnknownKeyNested) {
    expect_one(with(sender_base, "      address:", "      mtux: 1500\n      address:"), 7, 7,
               "dataplane.ports[0].mtux", "unknown key (did you mean 'mtu'?)");
    expect_one(with(sender_base, "    lcores: \"8\"\n", "    lcores: \"8\"\n    cores: 2\n"), 12, 5,
               "control.eal.cores", "unknown key");
}

TEST(ConfigReject, WrongTypeQuotedNumber) {
    expect_one(with(sender_base, "      address:", "      mtu: \"1500\"\n      address:"), 7, 12,
               "dataplane.ports[0].mtu",
               "expected an integer, got the string '1500' (numbers are written without quotes)");
}

TEST(ConfigReject, WrongTypeNotAnInteger) {
    expect_one(with(sender_base, "      address:", "      mtu: big\n      address:"), 7, 12,
               "dataplane.ports[0].mtu", "expected an integer, got 'big'");
}

TEST(ConfigReject, WrongTypeScalarForMapping) {
    expect_one(sender_base + "  log: verbose\n", 13, 8, "control.log",
               "expected a mapping of level, file, got the scalar 'verbose'");
}

TEST(ConfigReject, WrongTypeScalarForList) {
    expect_one(with(sender_base, "  ports:\n    - device: net_null0\n      address: 10.0.0.1/24\n",
                    "  ports: net_null0\n"),
               5, 10, "dataplane.ports", "expected a list, got the scalar 'net_null0'");
}

TEST(ConfigReject, WrongTypeBool) {
    expect_one(
        with(sender_base, "    file_prefix: t\n", "    file_prefix: t\n    hugepages: yes\n"), 5,
        16, "dataplane.eal.hugepages", "expected true or false, got the scalar 'yes'");
    std::string yaml = sender_base;
    yaml.insert(yaml.find("control:\n"), "  flush_before_complete: sometimes\n");
    expect_one(yaml, 8, 26, "dataplane.flush_before_complete",
               "expected true or false, got the scalar 'sometimes'");
}

TEST(ConfigReject, EmptyValue) {
    expect_one(with(sender_base, "      address:", "      mtu:\n      address:"), 7, 7,
               "dataplane.ports[0].mtu", "expected an integer, got nothing");
}

TEST(ConfigReject, OutOfRange) {
    expect_one(with(sender_base, "      address:", "      mtu: 9600\n      address:"), 7, 12,
               "dataplane.ports[0].mtu", "9600 is out of range 576..9000");
    expect_one(sender_base + "  robustness: 60\n", 13, 15, "control.robustness",
               "60 is out of range 10..50");
    expect_one(sender_base + "  grtt: { min: 0.0001 }\n", 13, 16, "control.grtt.min",
               "'0.0001' is out of range 1ms..1000s");
    expect_one(sender_base + "  max_passes: 99999999999999999999\n", 13, 15, "control.max_passes",
               "99999999999999999999 is out of range 1..65535");
    expect_one(with(sender_base, "rate: 100M", "rate: 5K"), 12, 9, "control.rate",
               "'5K' (5000 bit/s) is out of range 10K..400G");
}

TEST(ConfigReject, MissingRequiredNested) {
    // Reported at the key of the mapping that lacks it.
    expect_one(with(sender_base, "    file_prefix: t\n", ""), 2, 3, "dataplane.eal.file_prefix",
               "required key is missing");
}

TEST(ConfigReject, MissingRequiredSection) {
    expect_one(sender_base.substr(0, sender_base.find("control:")), 1, 1, "control",
               "required key is missing");
}

TEST(ConfigReject, MissingRequiredByRole) {
    expect_one(with(sender_base, "  rate: 100M\n", ""), 8, 1, "control.rate",
               "required key is missing (bits per second of wire time");
    expect_one(with(receiver_base, "  destination: /srv/in\n", ""), 8, 1, "control.destination",
               "required key is missing");
}

TEST(ConfigReject, BadAddress) {
    expect_one(with(sender_base, "10.0.0.1/24", "10.0.0.256/24"), 7, 16,
               "dataplane.ports[0].address", "'10.0.0.256' is not an IPv4 address");
    expect_one(with(sender_base, "10.0.0.1/24", "10.0.0.1"), 7, 16, "dataplane.ports[0].address",
               "has no prefix length");
    expect_one(with(sender_base, "10.0.0.1/24", "10.0.0.255/24"), 7, 16,
               "dataplane.ports[0].address", "is the broadcast address of its subnet");
    expect_one(with(sender_base, "10.0.0.1/24", "230.0.0.1/24"), 7, 16,
               "dataplane.ports[0].address", "is a multicast or reserved address");
}

TEST(ConfigReject, BadGateway) {
    const auto gw = [](const std::string& g) {
        return with(sender_base, "10.0.0.1/24\n", "10.0.0.1/24\n      gateway: " + g + "\n");
    };
    expect_one(gw("10.0.1.1"), 8, 16, "dataplane.ports[0].gateway",
               "10.0.1.1 is outside the port's subnet 10.0.0.0/24");
    expect_one(gw("10.0.0.1"), 8, 16, "dataplane.ports[0].gateway", "is the port's own address");
    load_ok(gw("10.0.0.254"));
}

TEST(ConfigReject, BadMac) {
    expect_one(with(sender_base, "10.0.0.1/24\n", "10.0.0.1/24\n      mac: 01:00:5e:00:00:01\n"), 8,
               12, "dataplane.ports[0].mac", "is a multicast MAC");
}

TEST(ConfigReject, BadDevice) {
    expect_one(with(sender_base, "net_null0", "0000:03:00"), 6, 15, "dataplane.ports[0].device",
               "is not a PCI address");
    expect_one(with(sender_base, "net_null0", "crypto_aesni_gcm0"), 6, 15,
               "dataplane.ports[0].device", "is not a network device driver");
}

TEST(ConfigReject, BadMulticast) {
    expect_one(sender_base + "  public_group: 10.1.1.1\n", 13, 17, "control.public_group",
               "10.1.1.1 is not a multicast address (224.0.0.0/4)");
    expect_one(sender_base + "  private_group: 224.0.0.5\n", 13, 18, "control.private_group",
               "224.0.0.5 is in 224.0.0.0/24, reserved for link-local protocols");
}

TEST(ConfigReject, BadEnumValue) {
    expect_one(with(sender_base, "      address:", "      checksum_offload: fast\n      address:"),
               7, 25, "dataplane.ports[0].checksum_offload", "'fast' is not one of auto, on, off");
    expect_one(with(sender_base, "role: sender", "role: proxy"), 9, 9, "control.role",
               "'proxy' is not one of sender, receiver");
    expect_one(sender_base + "  encryption: { keyex: rsa, cipher: des, private_key: /k.pem }\n", 13,
               37, "control.encryption.cipher", "'des' (single DES) is refused");
}

TEST(ConfigReject, NonPowerOfTwoRing) {
    expect_one(with(sender_base, "  ports:", "  rings: { storage: 3000 }\n  ports:"), 5, 21,
               "dataplane.rings.storage", "3000 is not a power of two (64, 128, ... 1048576)");
    expect_one(with(sender_base, "      address:", "      rx_descriptors: 1000\n      address:"), 7,
               23, "dataplane.ports[0].rx_descriptors", "1000 is not a power of two");
}

TEST(ConfigReject, LcoreNotInSet) {
    expect_one(with(sender_base, "    file_prefix: t\n", "    file_prefix: t\n    main_lcore: 3\n"),
               5, 17, "dataplane.eal.main_lcore", "lcore 3 is not in eal.lcores (0)");
    expect_one(with(sender_base, "  ports:", "  roles: { rx: 0, tx: 2 }\n  ports:"), 5, 23,
               "dataplane.roles.tx", "lcore 2 is not in eal.lcores (0)");
    expect_one(with(sender_base, "lcores: \"8\"", "lcores: \"0,8\""), 11, 13, "control.eal.lcores",
               "lcore 0 is also in dataplane.eal.lcores");
    expect_one(with(sender_base, "lcores: \"0\"", "lcores: \"0-\""), 3, 13, "dataplane.eal.lcores",
               "is not a DPDK lcore list");
}

TEST(ConfigReject, DuplicateKey) {
    expect_one(sender_base + "  rate: 1G\n", 13, 3, "control.rate",
               "duplicate key (first given at line 12)");
}

TEST(ConfigReject, MalformedYamlWithItsLine) {
    const auto issues =
        issues_of(with(sender_base, "  rate: 100M\n", "  rate: [100M\n  port: 1\n"));
    ASSERT_EQ(issues.size(), 1u);
    // The '[' opens on line 12; yaml-cpp notices the missing ']' on line 13.
    EXPECT_EQ(issues[0].line, 13u);
    EXPECT_THAT(issues[0].message, HasSubstr("YAML syntax error"));
    EXPECT_THAT(issues[0].to_string(), HasSubstr("t.yaml:13:"));
    // A tab in indentation, a classic.
    const auto tabbed = issues_of("dataplane:\n  eal:\n\tlcores: 0\n");
    ASSERT_EQ(tabbed.size(), 1u);
    EXPECT_EQ(tabbed[0].line, 3u);
}

TEST(ConfigReject, SecondDocument) {
    expect_one(sender_base + "---\nfoo: 1\n", 14, 1, "", "a second YAML document");
}

// yaml-cpp 0.7's LoadAll loops forever on a line starting with ','; the
// loader must answer (a regression hangs until the test's timeout).
TEST(ConfigReject, StrayFlowCharacterDoesNotHang) {
    expect_one(", b\n", 1, 1, "", "no YAML value starts here");
    expect_one(sender_base + "...\n, b\n", 14, 1, "", "a second YAML document");
}

TEST(ConfigReject, EmptyFile) {
    expect_one("", 1, 1, "", "the file is empty");
    expect_one("# only a comment\n", 1, 1, "", "the file is empty");
}

// ---- contradictions between fields ----

TEST(ConfigContradiction, CipherWithoutKeyex) {
    expect_one(sender_base + "  encryption: { cipher: aes256-gcm }\n", 13, 25,
               "control.encryption.cipher", "is set, but encryption.keyex is none");
}

TEST(ConfigContradiction, KeyexWithoutPrivateKeyOrCipher) {
    const auto issues = issues_of(sender_base + "  encryption:\n    keyex: rsa\n");
    ASSERT_EQ(issues.size(), 2u);
    EXPECT_EQ(issues[0].path, "control.encryption.cipher");
    EXPECT_EQ(issues[1].path, "control.encryption.private_key");
    for (const auto& i : issues) {
        EXPECT_EQ(i.line, 13u);
        EXPECT_EQ(i.column, 3u);
        EXPECT_THAT(i.message, HasSubstr("required key is missing"));
    }
}

TEST(ConfigContradiction, SignatureWithAead) {
    expect_one(sender_base + "  encryption: { keyex: rsa, cipher: aes256-gcm, signature: hmac, "
                             "private_key: /k.pem }\n",
               13, 60, "control.encryption.signature", "applies to CBC ciphers only");
}

TEST(ConfigContradiction, KeyexSignatureWithoutClientAuth) {
    expect_one(sender_base + "  encryption: { keyex: rsa, cipher: aes256-cbc, signature: keyex, "
                             "private_key: /k.pem }\n",
               13, 60, "control.encryption.signature", "set client_auth: true");
}

TEST(ConfigContradiction, ClientAuthWithoutClients) {
    expect_one(sender_base + "  encryption: { keyex: rsa, cipher: aes256-gcm, client_auth: true, "
                             "private_key: /k.pem }\n",
               13, 62, "control.encryption.client_auth", "list the clients");
}

TEST(ConfigContradiction, FingerprintsAndClientAuth) {
    const std::string fp = "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34";
    const std::string enc = "  encryption: { keyex: rsa, cipher: aes256-gcm, private_key: /k.pem, "
                            "client_auth: true }\n";
    // client_auth on: every client needs one (line 15 is the second client).
    expect_one(sender_base + "  clients:\n    - { uid: 0x0A000002, fingerprint: \"" + fp +
                   "\" }\n    - { uid: 0x0A000003 }\n" + enc,
               15, 7, "control.clients[1].fingerprint", "required key is missing");
    // client_auth off: a fingerprint would never be checked.
    expect_one(sender_base + "  clients:\n    - { uid: 0x0A000002, fingerprint: \"" + fp + "\" }\n",
               14, 39, "control.clients[0].fingerprint", "is never checked");
    load_ok(sender_base + "  clients:\n    - { uid: 0x0A000002, fingerprint: \"" + fp + "\" }\n" +
            enc);
}

TEST(ConfigContradiction, DuplicateClientAndOwnUid) {
    expect_one(sender_base + "  clients:\n    - uid: 10.0.0.2\n    - uid: 0x0A000002\n", 15, 12,
               "control.clients[1].uid", "0x0A000002 is listed twice (also at line 14)");
    expect_one(sender_base + "  clients:\n    - uid: 10.0.0.1\n", 14, 12, "control.clients[0].uid",
               "is this node's own control.uid");
}

TEST(ConfigContradiction, CryptodevDevice) {
    expect_one(with(sender_base, "  ports:",
                    "  crypto: { backend: openssl, cryptodev_device: crypto_aesni_gcm0 }\n"
                    "  ports:"),
               5, 49, "dataplane.crypto.cryptodev_device", "crypto.backend is openssl");
    expect_one(with(sender_base, "  ports:",
                    "  crypto: { backend: cryptodev, cryptodev_device: net_null1 }\n  ports:"),
               5, 51, "dataplane.crypto.cryptodev_device", "is not a crypto device driver");
}

TEST(ConfigDefaults, CryptodevDeviceDefaultsToTheIpsecMbPmd) {
    const auto with_backend = parse_node_config(
        with(sender_base, "  ports:", "  crypto: { backend: cryptodev }\n  ports:"), "t.yaml");
    EXPECT_EQ(with_backend.dataplane.crypto.cryptodev_device, "crypto_aesni_mb0");
    const auto with_openssl = parse_node_config(
        with(sender_base, "  ports:", "  crypto: { backend: openssl }\n  ports:"), "t.yaml");
    EXPECT_TRUE(with_openssl.dataplane.crypto.cryptodev_device.empty());
}

TEST(ConfigContradiction, ExtraArgsOwnedBySchema) {
    expect_one(with(sender_base, "    file_prefix: t\n",
                    "    file_prefix: t\n    extra_args: [\"--log-level=8\", \"-l\", \"0-1\"]\n"),
               5, 35, "dataplane.eal.extra_args[1]", "'-l' is set by eal.lcores");
}

TEST(ConfigContradiction, FilePrefixDiffers) {
    expect_one(with(sender_base, "lcores: \"8\"\n", "lcores: \"8\"\n    file_prefix: u\n"), 12, 18,
               "control.eal.file_prefix", "differs from dataplane.eal.file_prefix 't'");
}

TEST(ConfigContradiction, KeyOfTheOtherRole) {
    expect_one(receiver_base + "  rate: 1G\n", 13, 3, "control.rate",
               "applies only to a sender (control.role is receiver)");
    expect_one(sender_base + "  destination: /srv/in\n", 13, 3, "control.destination",
               "applies only to a receiver (control.role is sender)");
    expect_one(receiver_base + "  encryption: { cipher: aes256-gcm }\n", 13, 17,
               "control.encryption.cipher", "applies only to a sender");
}

TEST(ConfigContradiction, TempDirInsideDestination) {
    expect_one(receiver_base + "  temp_dir: /srv/in/./tmp/\n", 13, 13, "control.temp_dir",
               "is inside destination '/srv/in'");
    expect_one(receiver_base + "  temp_dir: /srv/in\n", 13, 13, "control.temp_dir",
               "is inside destination");
    load_ok(receiver_base + "  temp_dir: /srv/incoming\n");
    expect_one(receiver_base + "  temp_dir: srv/tmp\n", 13, 13, "control.temp_dir",
               "is not an absolute path");
}

TEST(ConfigContradiction, IdleBackoffOnlyGrows) {
    std::string yaml = sender_base;
    yaml.insert(yaml.find("control:\n"), "  idle_backoff_us: 500\n  idle_backoff_max_us: 100\n");
    expect_one(yaml, 9, 24, "dataplane.idle_backoff_max_us",
               "100 is less than idle_backoff_us (500): the pause only grows");
    yaml = sender_base;
    yaml.insert(yaml.find("control:\n"), "  idle_backoff_us: 500\n  idle_backoff_max_us: 500\n");
    load_ok(yaml);
}

TEST(ConfigContradiction, GrttOrder) {
    expect_one(sender_base + "  grtt: { initial: 20s, max: 15s }\n", 13, 20, "control.grtt.initial",
               "grtt needs min <= initial <= max, got min 0.01s, initial 20s, max 15s");
}

// control.early_data: a duration of at most a second, or "off" (wait for
// every FILEINFO answer, as stock does); 20 ms when not given.
TEST(ConfigLoader, EarlyData) {
    EXPECT_EQ(load_ok(sender_base).control.sender->early_data, std::optional<double>(0.02));
    EXPECT_EQ(load_ok(sender_base + "  early_data: off\n").control.sender->early_data,
              std::nullopt);
    EXPECT_EQ(load_ok(sender_base + "  early_data: 5ms\n").control.sender->early_data,
              std::optional<double>(0.005));
    EXPECT_EQ(load_ok(sender_base + "  early_data: 0\n").control.sender->early_data,
              std::optional<double>(0.0));
    expect_one(sender_base + "  early_data: 2s\n", 13, 15, "control.early_data",
               "'2s' is out of range 0s..1s, or off");
    expect_one(sender_base + "  early_data: soon\n", 13, 15, "control.early_data", "soon");
}

// control.fast_start: a closed group's FILEINFO with the ANNOUNCE. Off by
// default; refused, saying why, where it cannot work.
TEST(ConfigLoader, FastStart) {
    const std::string closed = sender_base + "  clients: [{uid: 0x0A000002}]\n";
    EXPECT_FALSE(load_ok(closed).control.sender->fast_start);
    EXPECT_TRUE(load_ok(closed + "  fast_start: true\n").control.sender->fast_start);
    expect_one(sender_base + "  fast_start: true\n", 13, 15, "control.fast_start",
               "needs a closed group (control.clients)");
    expect_one(closed + "  proxies: [{uid: 0x0A000003}]\n  fast_start: true\n", 15, 15,
               "control.fast_start", "does not work with control.proxies");
    expect_one(closed + "  encryption: { keyex: rsa, cipher: aes256-gcm, private_key: /k.pem }\n"
                        "  fast_start: true\n",
               15, 15, "control.fast_start", "does not work with encryption");
    expect_one(closed + "  fast_start: soon\n", 14, 15, "control.fast_start", "true or false");
}

// The FILESEG packet must fit the MTU; the sizes come from protocol/ and
// crypto/ here, from config/'s own constants in the loader, so the two are
// held together: exactly the MTU passes, one byte more does not.
TEST(ConfigContradiction, BlockSizeAgainstMtu) {
    const std::size_t ip_udp = 28;
    const std::size_t fileseg_header =
        protocol::fileseg_headers_size(false) - protocol::uftp_header_size;
    const std::size_t plain = ip_udp + protocol::fileseg_headers_size(false);
    const std::size_t aead =
        ip_udp + crypto::encrypted_header_size + fileseg_header + crypto::aead_tag_len;
    ASSERT_EQ(plain, 52u);
    ASSERT_EQ(aead, 80u);

    auto node = [](std::size_t mtu, std::size_t block, const std::string& enc) {
        return with(
            with(sender_base,
                 "      address:", "      mtu: " + std::to_string(mtu) + "\n      address:"),
            "  rate: 100M\n", "  rate: 100M\n  block_size: " + std::to_string(block) + "\n" + enc);
    };
    load_ok(node(1500, 1500 - plain, ""));
    expect_one(node(1500, 1500 - plain + 1, ""), 14, 15, "control.block_size",
               "1449-byte blocks make 1501-byte IPv4 packets unencrypted, more than "
               "dataplane.ports[0].mtu 1500 (the dataplane does not fragment): use at most 1448");
    const std::string gcm =
        "  encryption: { keyex: rsa, cipher: aes256-gcm, private_key: /k.pem }\n";
    load_ok(node(8000, 8000 - aead, gcm));
    expect_one(node(8000, 8000 - aead + 1, gcm), 14, 15, "control.block_size",
               "7921-byte blocks make 8001-byte IPv4 packets encrypted");
    // CBC + HMAC-SHA256: PKCS#7 pads (8 + block) up to the next multiple of 16.
    const std::string cbc =
        "  encryption: { keyex: rsa, cipher: aes256-cbc, private_key: /k.pem }\n";
    const std::size_t cbc_fixed = ip_udp + crypto::encrypted_header_size + 32;
    const std::size_t block = 8800;
    const std::size_t padded = ((fileseg_header + block) / 16 + 1) * 16;
    load_ok(node(cbc_fixed + padded, block, cbc));
    EXPECT_FALSE(issues_of(node(cbc_fixed + padded - 1, block, cbc)).empty());
    // Stock's own rule of thumb: 8800-byte blocks and a 9000-byte MTU.
    load_ok(node(9000, 8800, gcm));
}

TEST(ConfigReject, AllProblemsReportedInFileOrder) {
    const auto issues = issues_of("control:\n"
                                  "  role: sender\n"
                                  "  eal: { lcores: \"8\" }\n"
                                  "  rate: fast\n"
                                  "  port: 0\n"
                                  "dataplane:\n"
                                  "  eal: { lcores: \"0\", file_prefix: t }\n"
                                  "  ports:\n"
                                  "    - { device: net_null0, address: 10.0.0.1/24, mtu: 100 }\n"
                                  "  bogus: 1\n");
    ASSERT_EQ(issues.size(), 4u);
    EXPECT_EQ(issues[0].path, "control.rate");
    EXPECT_EQ(issues[1].path, "control.port");
    EXPECT_EQ(issues[2].path, "dataplane.ports[0].mtu");
    EXPECT_EQ(issues[3].path, "dataplane.bogus");
    for (std::size_t i = 1; i < issues.size(); ++i) {
        EXPECT_LT(issues[i - 1].line, issues[i].line);
    }
    // config_error::what() lists them all, one per line.
    try {
        (void)parse_node_config("dataplane: 1\ncontrol: 2\n", "x.yaml");
        FAIL();
    } catch (const config_error& e) {
        EXPECT_STREQ(
            e.what(),
            "x.yaml:1:12: dataplane: expected a mapping of eal, roles, "
            "storage_threads, ports, mempool, rings, limits, idle_backoff_us, "
            "idle_backoff_max_us, flush_before_complete, crypto, stats, got the scalar '1'\n"
            "x.yaml:2:10: control: expected a mapping of role, uid, eal, "
            "public_group, private_group, port, control_copies, copy_spacing, rate, block_size, "
            "grtt, "
            "early_data, fast_start, robustness, announce_rounds, max_passes, max_nak_pct, "
            "max_nak_count, clients, proxies, fec, servers, encryption, destination, "
            "temp_dir, max_sessions, max_grtt, max_robust, register_timeout, hooks, "
            "response_proxy, server_proxy, heartbeats, socket, metrics, snmp, log, got the "
            "scalar '2'");
    }
}

TEST(ConfigReject, PortCount) {
    expect_one(with(sender_base, "      address: 10.0.0.1/24\n",
                    "      address: 10.0.0.1/24\n    - device: net_null1\n      address: "
                    "10.0.1.1/24\n"),
               6, 5, "dataplane.ports", "2 ports given; exactly one is supported for now");
}

// ---- accepted values ----

TEST(ConfigAccept, DefaultsFilled) {
    const node_config c = load_ok(sender_base);
    const auto& dp = c.dataplane;
    EXPECT_EQ(c.source_file, "t.yaml");
    EXPECT_EQ(dp.eal.lcores, "0");
    EXPECT_EQ(dp.eal.lcore_ids, (std::vector<unsigned>{0}));
    EXPECT_EQ(dp.eal.main_lcore, 0u);
    EXPECT_EQ(dp.eal.file_prefix, "t");
    EXPECT_TRUE(dp.eal.hugepages);
    EXPECT_EQ(dp.eal.memory_mb, 256u);
    EXPECT_TRUE(dp.eal.extra_args.empty());
    EXPECT_EQ(dp.roles.rx, 0u);
    EXPECT_EQ(dp.roles.tx, 0u);
    EXPECT_EQ(dp.storage_threads, 1u);
    ASSERT_EQ(dp.ports.size(), 1u);
    const auto& p = dp.ports[0];
    EXPECT_EQ(p.device, "net_null0");
    EXPECT_EQ(p.kind, device_kind::vdev);
    EXPECT_EQ(p.mtu, 1500);
    EXPECT_EQ(p.address, (ipv4_interface{0x0A000001, 24}));
    EXPECT_FALSE(p.gateway);
    EXPECT_FALSE(p.mac);
    EXPECT_EQ(p.rx_descriptors, 1024);
    EXPECT_EQ(p.tx_descriptors, 1024);
    EXPECT_EQ(p.checksum, checksum_offload::automatic);
    EXPECT_EQ(dp.mempool.mbufs, 8191u);
    EXPECT_EQ(dp.mempool.cache, 256u);
    EXPECT_EQ(dp.rings.control_to_dataplane, 1024u);
    EXPECT_EQ(dp.rings.dataplane_to_control, 4096u);
    EXPECT_EQ(dp.rings.storage, 4096u);
    EXPECT_EQ(dp.limits.max_files, 16u);
    EXPECT_EQ(dp.limits.max_blocks_per_file, 1048576u);
    EXPECT_EQ(dp.idle_backoff_us, 0u);
    EXPECT_EQ(dp.idle_backoff_max_us, 1000u);
    EXPECT_TRUE(dp.flush_before_complete);
    EXPECT_EQ(dp.crypto.backend, crypto_backend::cryptodev);
    EXPECT_EQ(dp.crypto.cryptodev_device, "crypto_aesni_mb0");
    EXPECT_TRUE(dp.stats.telemetry);

    const auto& ct = c.control;
    EXPECT_EQ(ct.role, node_role::sender);
    EXPECT_EQ(ct.uid, 0x0A000001u); // the port's address, as stock uftp
    EXPECT_EQ(ct.eal.lcore_ids, (std::vector<unsigned>{8}));
    EXPECT_EQ(ct.eal.file_prefix, "t");
    EXPECT_EQ(ct.public_group, 0xE6040401u);
    EXPECT_EQ(ct.port, 1044);
    EXPECT_EQ(ct.socket, "/run/skycast/t.sock");
    EXPECT_EQ(ct.log.level, log_level::info);
    EXPECT_EQ(ct.log.file, "-");
    ASSERT_TRUE(ct.sender);
    EXPECT_FALSE(ct.receiver);
    const auto& s = *ct.sender;
    EXPECT_EQ(s.rate_bps, 100'000'000u);
    EXPECT_EQ(s.block_size, 1300);
    EXPECT_DOUBLE_EQ(s.grtt.initial, 0.5);
    EXPECT_DOUBLE_EQ(s.grtt.min, 0.01);
    EXPECT_DOUBLE_EQ(s.grtt.max, 15.0);
    EXPECT_EQ(s.robustness, 20);
    EXPECT_EQ(s.announce_rounds, 20u);
    EXPECT_EQ(s.max_passes, 65535u);
    EXPECT_EQ(s.max_nak_pct, 100u);
    EXPECT_EQ(s.max_nak_count, 1u);
    EXPECT_TRUE(s.clients.empty());
    EXPECT_EQ(s.private_group, 0xE6050501u);
    EXPECT_FALSE(s.encryption.enabled());
    EXPECT_EQ(s.encryption.cipher, cipher_kind::none);
    EXPECT_EQ(s.encryption.signature, signature_kind::none);
}

TEST(ConfigAccept, EveryKeySet) {
    const node_config c = load_ok(
        "dataplane:\n"
        "  eal: { lcores: \"(0-1)@0,2@(0,1)\", main_lcore: 1, file_prefix: hub-1, hugepages: "
        "false, memory_mb: 512, extra_args: [\"--log-level=8\"] }\n"
        "  roles: { rx: 2, tx: 0 }\n"
        "  storage_threads: 4\n"
        "  ports:\n"
        "    - device: \"0000:03:00.0\"\n"
        "      mtu: 9000\n"
        "      address: 192.168.7.10/16\n"
        "      gateway: 192.168.0.1\n"
        "      mac: 02:00:00:00:00:01\n"
        "      rx_descriptors: 4096\n"
        "      tx_descriptors: 64\n"
        "      checksum_offload: off\n"
        "  mempool: { mbufs: 65535, cache: 512 }\n"
        "  rings: { control_to_dataplane: 64, dataplane_to_control: 1048576, storage: 8192 }\n"
        "  limits: { max_files: 4096, max_blocks_per_file: 2147483647 }\n"
        "  idle_backoff_us: 20\n"
        "  idle_backoff_max_us: 5000\n"
        "  flush_before_complete: false\n"
        "  crypto: { backend: cryptodev, cryptodev_device: "
        "\"crypto_aesni_gcm0,max_nb_queue_pairs=2\" }\n"
        "  stats: { telemetry: false }\n"
        "control:\n"
        "  role: sender\n"
        "  uid: 0x0A4D0001\n"
        "  eal: { lcores: \"8@(0-1)\", file_prefix: hub-1 }\n"
        "  public_group: 239.1.2.3\n"
        "  private_group: 239.1.2.4\n"
        "  port: 2044\n"
        "  rate: 1.5G\n"
        "  block_size: 8000\n"
        "  grtt: { initial: 500ms, min: 1ms, max: 2min }\n"
        "  robustness: 30\n"
        "  announce_rounds: 5\n"
        "  max_passes: 10\n"
        "  max_nak_pct: 50\n"
        "  max_nak_count: 3\n"
        "  clients:\n"
        "    - uid: 10.77.0.11\n"
        "      fingerprint: \"A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34\"\n"
        "  encryption:\n"
        "    keyex: ecdh_ecdsa\n"
        "    cipher: aes256-cbc\n"
        "    hash: sha512\n"
        "    signature: keyex\n"
        "    private_key: /etc/skycast/hub.pem\n"
        "    client_auth: true\n"
        "  socket: /tmp/hub.sock\n"
        "  log: { level: debug, file: /var/log/skycast.log }\n");
    const auto& dp = c.dataplane;
    EXPECT_EQ(dp.eal.lcore_ids, (std::vector<unsigned>{0, 1, 2}));
    EXPECT_EQ(dp.eal.main_lcore, 1u);
    EXPECT_FALSE(dp.eal.hugepages);
    EXPECT_EQ(dp.eal.extra_args, (std::vector<std::string>{"--log-level=8"}));
    EXPECT_EQ(dp.roles.rx, 2u);
    EXPECT_EQ(dp.roles.tx, 0u);
    EXPECT_EQ(dp.ports[0].kind, device_kind::pci);
    EXPECT_EQ(dp.ports[0].gateway, 0xC0A80001u);
    EXPECT_EQ(dp.ports[0].mac, (mac_address{2, 0, 0, 0, 0, 1}));
    EXPECT_EQ(dp.ports[0].checksum, checksum_offload::off);
    EXPECT_EQ(dp.rings.dataplane_to_control, 1048576u);
    EXPECT_EQ(dp.limits.max_blocks_per_file, 2147483647u);
    EXPECT_EQ(dp.crypto.backend, crypto_backend::cryptodev);
    EXPECT_EQ(dp.crypto.cryptodev_device, "crypto_aesni_gcm0,max_nb_queue_pairs=2");
    EXPECT_FALSE(dp.stats.telemetry);
    EXPECT_EQ(dp.idle_backoff_us, 20u);
    EXPECT_EQ(dp.idle_backoff_max_us, 5000u);
    EXPECT_FALSE(dp.flush_before_complete);
    const auto& ct = c.control;
    EXPECT_EQ(ct.uid, 0x0A4D0001u);
    EXPECT_EQ(ct.port, 2044);
    EXPECT_EQ(ct.socket, "/tmp/hub.sock");
    EXPECT_EQ(ct.log.level, log_level::debug);
    const auto& s = *ct.sender;
    EXPECT_EQ(s.rate_bps, 1'500'000'000u);
    EXPECT_DOUBLE_EQ(s.grtt.initial, 0.5);
    EXPECT_DOUBLE_EQ(s.grtt.min, 0.001);
    EXPECT_DOUBLE_EQ(s.grtt.max, 120.0);
    EXPECT_EQ(s.robustness, 30);
    EXPECT_EQ(s.announce_rounds, 5u);
    ASSERT_EQ(s.clients.size(), 1u);
    EXPECT_EQ(s.clients[0].uid, 0x0A4D000Bu);
    ASSERT_TRUE(s.clients[0].fingerprint);
    EXPECT_EQ((*s.clients[0].fingerprint)[0], 0xA1);
    EXPECT_EQ(s.encryption.keyex, keyex_kind::ecdh_ecdsa);
    EXPECT_EQ(s.encryption.cipher, cipher_kind::aes256_cbc);
    EXPECT_EQ(s.encryption.hash, hash_kind::sha512);
    EXPECT_EQ(s.encryption.signature, signature_kind::keyex);
    EXPECT_TRUE(s.encryption.client_auth);
}

TEST(ConfigAccept, SuiteDefaults) {
    auto sender = [](const std::string& cipher) {
        return load_ok(sender_base + "  encryption: { keyex: rsa, cipher: " + cipher +
                       ", private_key: /k.pem }\n")
            .control.sender->encryption;
    };
    EXPECT_EQ(sender("aes256-gcm").signature, signature_kind::authenc);
    EXPECT_EQ(sender("aes128-ccm").signature, signature_kind::authenc);
    EXPECT_EQ(sender("aes128-cbc").signature, signature_kind::hmac); // stock -w default
    EXPECT_EQ(sender("3des").cipher, cipher_kind::des_ede3_cbc);
    EXPECT_EQ(sender("aes256-gcm").hash, hash_kind::sha256);
}

TEST(ConfigAccept, EcdhCurves) {
    auto curve = [](const std::string& keyex, const std::string& extra) {
        return load_ok(sender_base + "  encryption: { keyex: " + keyex +
                       ", cipher: aes256-gcm, private_key: /k.pem" + extra + " }\n")
            .control.sender->encryption.ecdh_curve;
    };
    EXPECT_EQ(curve("ecdh_ecdsa", ""), "prime256v1"); // stock's default
    EXPECT_EQ(curve("rsa", ""), "");                  // no ECDH key at all
    // Every name config/ accepts is one crypto/ knows, under its short name.
    for (const std::string name :
         {"prime256v1", "secp256r1", "P-256", "secp384r1", "P-384", "secp521r1", "P-521"}) {
        const std::string canonical = curve("ecdh_rsa", ", ecdh_curve: " + name);
        const auto* info = crypto::curve_by_name(canonical);
        ASSERT_NE(info, nullptr) << name;
        EXPECT_EQ(info, crypto::curve_by_name(name)) << name;
        EXPECT_EQ(info->name, canonical) << name;
    }
}

TEST(ConfigContradiction, EcdhCurveWithRsa) {
    expect_one(sender_base + "  encryption: { keyex: rsa, cipher: aes256-gcm, private_key: /k.pem, "
                             "ecdh_curve: P-384 }\n",
               13, 82, "control.encryption.ecdh_curve", "applies to keyex ecdh_rsa and ecdh_ecdsa");
    expect_one(sender_base + "  encryption: { keyex: ecdh_rsa, cipher: aes256-gcm, private_key: "
                             "/k.pem, ecdh_curve: sect163k1 }\n",
               13, 87, "control.encryption.ecdh_curve", "'sect163k1' is not one of prime256v1");
}

TEST(ConfigAccept, AnnounceRoundsFollowRobustness) {
    EXPECT_EQ(load_ok(sender_base + "  robustness: 12\n").control.sender->announce_rounds, 12u);
}

TEST(ConfigAccept, Receiver) {
    const node_config c = load_ok(
        receiver_base +
        "  temp_dir: /srv/tmp\n"
        "  servers:\n"
        "    - uid: 0x0A000009\n"
        "      fingerprint: \"A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34\"\n"
        "  encryption:\n"
        "    private_keys: [/etc/skycast/r.pem, /etc/skycast/r-ec.pem]\n"
        "    require: true\n");
    ASSERT_TRUE(c.control.receiver);
    EXPECT_FALSE(c.control.sender);
    const auto& r = *c.control.receiver;
    EXPECT_EQ(r.destination, "/srv/in");
    EXPECT_EQ(r.temp_dir, "/srv/tmp");
    ASSERT_EQ(r.servers.size(), 1u);
    EXPECT_EQ(r.servers[0].uid, 0x0A000009u);
    EXPECT_TRUE(r.servers[0].fingerprint);
    EXPECT_EQ(r.private_keys.size(), 2u);
    EXPECT_TRUE(r.require_encryption);
    EXPECT_FALSE(load_ok(receiver_base).control.receiver->require_encryption);
}

TEST(ConfigAccept, ShippedExamples) {
    const std::string dir = SKYCAST_CONFIG_EXAMPLES;
    const node_config hub = load_node_config(dir + "/hub.yaml");
    EXPECT_EQ(hub.control.role, node_role::sender);
    EXPECT_EQ(hub.dataplane.ports[0].address, (ipv4_interface{0x0A4D0001, 24}));
    EXPECT_EQ(hub.dataplane.ports[0].mtu, 9000);
    EXPECT_EQ(hub.dataplane.eal.file_prefix, "skycast-hub");
    EXPECT_EQ(hub.control.uid, 0x0A4D0001u);
    EXPECT_EQ(hub.control.sender->block_size, 8800);
    EXPECT_EQ(hub.dataplane.ports[0].device,
              "net_af_packet0,iface=hub0,blocksz=16384,framesz=16384,framecnt=512,qdisc_bypass=0");
    const node_config rcv = load_node_config(dir + "/receiver.yaml");
    EXPECT_EQ(rcv.control.role, node_role::receiver);
    EXPECT_EQ(rcv.dataplane.ports[0].address, (ipv4_interface{0x0A4D000B, 24}));
    EXPECT_EQ(rcv.dataplane.eal.file_prefix, "skycast-rcv1");
    EXPECT_EQ(rcv.control.receiver->servers.at(0).uid, hub.control.uid);
    EXPECT_THAT(rcv.dataplane.ports[0].device, HasSubstr("iface=rcv0"));
    EXPECT_EQ(rcv.control.receiver->max_sessions, 16u);
    EXPECT_DOUBLE_EQ(rcv.control.receiver->max_grtt, 15.0);
    EXPECT_EQ(rcv.control.receiver->max_robust, 50);
    EXPECT_DOUBLE_EQ(rcv.control.receiver->register_timeout, 60.0);
    const node_config proxy = load_node_config(dir + "/response-proxy.yaml");
    EXPECT_EQ(proxy.control.role, node_role::response_proxy);
    EXPECT_EQ(proxy.control.uid, 0x0A4D0101u);
    EXPECT_EQ(proxy.dataplane.ports[0].address, (ipv4_interface{0x0A4D000D, 24}));
    const node_config server_proxy = load_node_config(dir + "/server-proxy.yaml");
    EXPECT_EQ(server_proxy.control.role, node_role::server_proxy);
    EXPECT_EQ(server_proxy.control.server_proxy->downstream,
              std::optional<ipv4_address>(0x0A4D000C));
    const node_config client_proxy = load_node_config(dir + "/client-proxy.yaml");
    EXPECT_EQ(client_proxy.control.role, node_role::client_proxy);
    EXPECT_EQ(client_proxy.control.heartbeats->to, std::vector<ipv4_address>{0x0A4D000B});
}

TEST(ConfigLoad, UnreadableFile) {
    try {
        (void)load_node_config("/nonexistent/skycast.yaml");
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.code(), config_errc::unreadable);
        ASSERT_EQ(e.issues().size(), 1u);
        EXPECT_EQ(e.issues()[0].to_string(),
                  "/nonexistent/skycast.yaml: cannot read: No such file or directory");
    }
}

TEST(ConfigLoad, FileNameInMessages) {
    char tmpl[] = "/tmp/skycast-config-test-XXXXXX";
    const int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    std::ofstream(tmpl) << with(sender_base, "rate: 100M", "rate: 100Q");
    try {
        (void)load_node_config(tmpl);
        ADD_FAILURE();
    } catch (const config_error& e) {
        EXPECT_EQ(e.code(), config_errc::invalid);
        EXPECT_EQ(
            e.issues().at(0).to_string().rfind(std::string(tmpl) + ":12:9: control.rate: ", 0), 0u);
    }
    std::filesystem::remove(tmpl);
}

// ---- the Prometheus endpoint ----

TEST(ConfigAccept, MetricsOffByDefaultLoopbackWhenOn) {
    EXPECT_FALSE(load_ok(receiver_base).control.metrics.enabled());
    const auto on = load_ok(receiver_base + "  metrics: {port: 9464}\n").control.metrics;
    EXPECT_TRUE(on.enabled());
    EXPECT_EQ(on.port, 9464);
    EXPECT_EQ(on.address, 0x7F000001u);
    const auto there =
        load_ok(receiver_base + "  metrics: {address: 10.77.0.11, port: 9100}\n").control.metrics;
    EXPECT_EQ(there.address, 0x0A4D000Bu);
}

TEST(ConfigReject, MetricsNeedsAPortInRange) {
    expect_one(receiver_base + "  metrics: {address: 127.0.0.1}\n", 13, 3, "control.metrics.port",
               "required key is missing");
    expect_one(receiver_base + "  metrics: {port: 0}\n", 13, 19, "control.metrics.port",
               "0 is out of range 1..65535");
}

// ---- FEC (docs/protocol.md §17) ----

TEST(ConfigAccept, ControlCopiesForEveryRole) {
    EXPECT_EQ(load_ok(sender_base).control.control_copies, 1u);
    EXPECT_EQ(load_ok(sender_base + "  control_copies: 2\n").control.control_copies, 2u);
    EXPECT_EQ(load_ok(receiver_base + "  control_copies: 3\n").control.control_copies, 3u);
    EXPECT_DOUBLE_EQ(load_ok(sender_base).control.copy_spacing, 0.1);
    EXPECT_DOUBLE_EQ(load_ok(sender_base + "  copy_spacing: 250ms\n").control.copy_spacing, 0.25);
    EXPECT_DOUBLE_EQ(load_ok(receiver_base + "  copy_spacing: 0s\n").control.copy_spacing, 0.0);
}

TEST(ConfigReject, ControlCopiesOutOfRange) {
    expect_one(sender_base + "  control_copies: 0\n", 13, 19, "control.control_copies",
               "0 is out of range 1..4");
    expect_one(receiver_base + "  control_copies: 5\n", 13, 19, "control.control_copies",
               "5 is out of range 1..4");
    expect_one(sender_base + "  copy_spacing: 2s\n", 13, 17, "control.copy_spacing",
               "'2s' is out of range 0s..1s");
}

TEST(ConfigAccept, FecSettings) {
    EXPECT_EQ(load_ok(sender_base).control.sender->fec.group_blocks, 0u);
    const auto f = load_ok(sender_base + "  fec: {group_blocks: 64, proactive: \"2.5%\"}\n")
                       .control.sender->fec;
    EXPECT_EQ(f.group_blocks, 64u);
    EXPECT_DOUBLE_EQ(f.proactive, 0.025);
    EXPECT_TRUE(f.adaptive);
    EXPECT_EQ(f.parity_port, 1045); // the session port + 1
    EXPECT_EQ(f.interleave_mib, 64u);
    EXPECT_DOUBLE_EQ(f.repair_margin, 0.1);
    EXPECT_DOUBLE_EQ(f.expected_loss, 0.0);
    const auto g = load_ok(sender_base + "  fec: {group_blocks: 8, adaptive: false, "
                                         "parity_port: 3000, interleave_mib: 0, "
                                         "repair_margin: \"25%\", expected_loss: \"1%\"}\n")
                       .control.sender->fec;
    EXPECT_DOUBLE_EQ(g.repair_margin, 0.25);
    EXPECT_DOUBLE_EQ(g.expected_loss, 0.01);
    EXPECT_FALSE(g.adaptive);
    EXPECT_EQ(g.parity_port, 3000);
    EXPECT_EQ(g.interleave_mib, 0u);
}

TEST(ConfigReject, FecValuesChecked) {
    expect_one(sender_base + "  fec: {group_blocks: 4}\n", 13, 23, "control.fec.group_blocks",
               "4 is out of range 8..253");
    expect_one(sender_base + "  fec: {proactive: \"5%\"}\n", 13, 8, "control.fec.group_blocks",
               "required key is missing");
    expect_one(sender_base + "  fec: {group_blocks: 64, proactive: 5}\n", 13, 38,
               "control.fec.proactive", "expected a percentage");
    expect_one(sender_base + "  fec: {group_blocks: 64, proactive: \"150%\"}\n", 13, 38,
               "control.fec.proactive", "is not a percentage 0%..100%");
    expect_one(sender_base + "  fec: {group_blocks: 64, parity_port: 1044}\n", 13, 40,
               "control.fec.parity_port", "1044 is control.port");
    expect_one(sender_base + "  fec: {group_blocks: 64, interleave_mib: 65}\n", 13, 43,
               "control.fec.interleave_mib", "65 is out of range 0..64");
    expect_one(sender_base + "  fec: {group_blocks: 64, repair_margin: 0.1}\n", 13, 42,
               "control.fec.repair_margin", "expected a percentage");
    expect_one(sender_base + "  fec: {group_blocks: 64, expected_loss: \"60%\"}\n", 13, 42,
               "control.fec.expected_loss", "must be at most 50%");
    expect_one(receiver_base + "  fec: {group_blocks: 64}\n", 13, 3, "control.fec", "sender");
}

TEST(ConfigAccept, FecWithEncryption) {
    const auto c = load_ok(sender_base + "  fec: {group_blocks: 64}\n"
                                         "  encryption: {keyex: rsa, cipher: aes256-gcm, "
                                         "private_key: /k.pem}\n");
    EXPECT_EQ(c.control.sender->fec.group_blocks, 64u);
}

TEST(ConfigReject, FecParityTooBigForTheMtu) {
    // 1448 bytes fit a 1500-byte MTU as FILESEGs (1500) but not as PARITY (1504).
    expect_one(sender_base + "  block_size: 1448\n  fec: {group_blocks: 64}\n", 13, 15,
               "control.block_size", "1504-byte IPv4 PARITY packets");
}

// ---- proxies (spec §7) ----

TEST(ConfigAccept, SenderProxies) {
    EXPECT_TRUE(load_ok(sender_base).control.sender->proxies.empty());
    const auto c = load_ok(sender_base + "  clients: [{uid: 0x0A4D000C}]\n"
                                         "  proxies: [{uid: 0x0A4D000B}]\n");
    ASSERT_EQ(c.control.sender->proxies.size(), 1u);
    EXPECT_EQ(c.control.sender->proxies[0].uid, 0x0A4D000Bu);
    EXPECT_FALSE(c.control.sender->proxies[0].fingerprint.has_value());
}

TEST(ConfigReject, AProxyIsNoClient) {
    expect_one(sender_base + "  clients: [{uid: 0x0A4D000B}]\n"
                             "  proxies: [{uid: 0x0A4D000B}]\n",
               14, 12, "control.proxies", "0x0A4D000B is in control.clients too");
    expect_one(receiver_base + "  proxies: [{uid: 1}]\n", 13, 3, "control.proxies", "sender");
}

TEST(ConfigAccept, ResponseProxyRole) {
    std::string proxy = receiver_base;
    proxy.replace(proxy.find("role: receiver"), 14, "role: response_proxy");
    proxy = proxy.substr(0, proxy.find("  destination:"));
    const auto c = load_ok(proxy);
    EXPECT_EQ(c.control.role, node_role::response_proxy);
    EXPECT_FALSE(c.control.receiver.has_value());
    EXPECT_FALSE(c.control.sender.has_value());
    EXPECT_STREQ(role_name(c.control.role), "response_proxy");
}

// A receiver's base turned into a server proxy's, without its destination.
std::string server_proxy_base() {
    std::string proxy = receiver_base;
    proxy.replace(proxy.find("role: receiver"), 14, "role: server_proxy");
    return proxy.substr(0, proxy.find("  destination:"));
}

TEST(ConfigAccept, ServerProxyRole) {
    const auto fixed = load_ok(server_proxy_base() + "  server_proxy: {downstream: 10.78.0.1}\n");
    EXPECT_EQ(fixed.control.role, node_role::server_proxy);
    EXPECT_STREQ(role_name(fixed.control.role), "server_proxy");
    ASSERT_TRUE(fixed.control.server_proxy.has_value());
    EXPECT_EQ(fixed.control.server_proxy->downstream, std::optional<ipv4_address>(0x0A4E0001));
    EXPECT_EQ(fixed.control.server_proxy->downstream_port, 1044);
    EXPECT_FALSE(fixed.control.server_proxy->downstream_fingerprint.has_value());
    EXPECT_FALSE(fixed.control.receiver.has_value());
    EXPECT_EQ(load_ok(server_proxy_base() +
                      "  server_proxy: {downstream: 10.78.0.1, downstream_port: 2044}\n")
                  .control.server_proxy->downstream_port,
              2044);
    const auto learned = load_ok(
        server_proxy_base() + "  server_proxy:\n    downstream_fingerprint: "
                              "\"A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34\"\n");
    ASSERT_TRUE(learned.control.server_proxy->downstream_fingerprint.has_value());
    EXPECT_EQ(learned.control.server_proxy->downstream_fingerprint->at(0), 0xA1);
    EXPECT_FALSE(learned.control.server_proxy->downstream.has_value());
}

TEST(ConfigReject, ServerProxyNeedsOneUnicastDownstream) {
    const std::string base = server_proxy_base();
    expect_one(base, 8, 1, "control.server_proxy", "required key is missing");
    expect_one(base + "  server_proxy: {}\n", 12, 17, "control.server_proxy",
               "needs downstream (a client proxy's address) or downstream_fingerprint");
    expect_one(base + "  server_proxy: {downstream: 10.78.0.1, downstream_fingerprint: "
                      "\"A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34\"}\n",
               12, 17, "control.server_proxy", "has both downstream and downstream_fingerprint");
    expect_one(base + "  server_proxy: {downstream: 230.4.4.1}\n", 12, 30,
               "control.server_proxy.downstream", "230.4.4.1 is no unicast address");
    expect_one(base + "  server_proxy: {downstream: 10.78.0.1}\n  encryption: {private_keys: "
                      "[/k.pem]}\n",
               13, 3, "control.encryption", "takes no part in key exchanges");
    expect_one(receiver_base + "  server_proxy: {downstream: 10.78.0.1}\n", 13, 3,
               "control.server_proxy", "applies to role server_proxy, not receiver");
}

std::string client_proxy_base() {
    std::string proxy = receiver_base;
    proxy.replace(proxy.find("role: receiver"), 14, "role: client_proxy");
    return proxy.substr(0, proxy.find("  destination:"));
}

TEST(ConfigAccept, ClientProxyRole) {
    const auto bare = load_ok(client_proxy_base());
    EXPECT_EQ(bare.control.role, node_role::client_proxy);
    EXPECT_STREQ(role_name(bare.control.role), "client_proxy");
    EXPECT_FALSE(bare.control.heartbeats.has_value()) << "no heartbeats";
    const auto hb =
        load_ok(client_proxy_base() + "  heartbeats: {to: [10.77.0.11, 10.77.0.21], "
                                      "interval: 5s, private_key: /etc/skycast/cproxy.pem}\n");
    ASSERT_TRUE(hb.control.heartbeats.has_value());
    EXPECT_EQ(hb.control.heartbeats->to, (std::vector<ipv4_address>{0x0A4D000B, 0x0A4D0015}));
    EXPECT_DOUBLE_EQ(hb.control.heartbeats->interval, 5.0);
    EXPECT_EQ(hb.control.heartbeats->private_key, "/etc/skycast/cproxy.pem");
    // A receiver behind a NAT sends them too (stock uftpd -H); 20 s by default.
    const auto rcv = load_ok(receiver_base + "  heartbeats: {to: [10.77.0.11]}\n");
    ASSERT_TRUE(rcv.control.heartbeats.has_value());
    EXPECT_DOUBLE_EQ(rcv.control.heartbeats->interval, 20.0);
    EXPECT_TRUE(rcv.control.heartbeats->private_key.empty());
}

TEST(ConfigReject, ClientProxyHeartbeatsGoToUnicastProxies) {
    const std::string base = client_proxy_base() + "  heartbeats: ";
    expect_one(base + "{to: [230.4.4.1]}\n", 12, 21, "control.heartbeats.to[0]",
               "230.4.4.1 is no unicast address");
    expect_one(base + "{to: []}\n", 12, 20, "control.heartbeats.to",
               "expected a list of server proxies' addresses");
    expect_one(base + "{to: [10.77.0.11], interval: 0s}\n", 12, 44, "control.heartbeats.interval",
               "1s..3600s");
    expect_one(client_proxy_base() +
                   "  encryption: {private_key: /k.pem, private_keys: [/k.pem]}\n",
               12, 37, "control.encryption.private_keys", "unknown key");
    expect_one(sender_base + "  heartbeats: {to: [10.77.0.11]}\n", 13, 3, "control.heartbeats",
               "apply to roles receiver and client_proxy, not sender");
}

TEST(ConfigReject, ResponseProxyRoleTakesNoFilesAndOnlyItsOwnKeys) {
    std::string proxy = receiver_base;
    proxy.replace(proxy.find("role: receiver"), 14, "role: response_proxy");
    expect_one(proxy, 12, 3, "control.destination", "applies only to a receiver");
    std::string bare = proxy.substr(0, proxy.find("  destination:"));
    // A receiver's key list is not a proxy's key, and the key is required.
    expect_one(bare + "  encryption: {private_key: /k.pem, private_keys: [/k.pem]}\n", 12, 37,
               "control.encryption.private_keys", "unknown key");
    expect_one(bare + "  encryption: {ecdh_curve: P-256}\n", 12, 3,
               "control.encryption.private_key", "required key is missing");
    expect_one(bare + "  encryption: {private_key: /k.pem, ecdh_curve: P-999}\n", 12, 49,
               "control.encryption.ecdh_curve", "is not one of");
}

TEST(ConfigAccept, ProxyKeysOfTheResponseAndClientProxies) {
    std::string response = receiver_base;
    response.replace(response.find("role: receiver"), 14, "role: response_proxy");
    const std::string bases[] = {response.substr(0, response.find("  destination:")),
                                 client_proxy_base()};
    for (const auto& bare : bases) {
        EXPECT_FALSE(load_ok(bare).control.proxy_keys.has_value()) << "unencrypted sessions only";
        const auto c = load_ok(bare + "  encryption: {private_key: /etc/skycast/proxy.pem, "
                                      "ecdh_curve: P-384}\n");
        ASSERT_TRUE(c.control.proxy_keys.has_value());
        EXPECT_EQ(c.control.proxy_keys->private_key, "/etc/skycast/proxy.pem");
        EXPECT_EQ(c.control.proxy_keys->ecdh_curve, "secp384r1");
        EXPECT_EQ(
            load_ok(bare + "  encryption: {private_key: /k.pem}\n").control.proxy_keys->ecdh_curve,
            "prime256v1");
    }
}

TEST(ConfigAccept, ReceiverResponseProxy) {
    EXPECT_FALSE(load_ok(receiver_base).control.receiver->response_proxy.has_value());
    const auto p = load_ok(receiver_base + "  response_proxy: {address: 10.77.0.11}\n")
                       .control.receiver->response_proxy;
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->address, 0x0A4D000Bu);
    EXPECT_EQ(p->port, 0); // control.port
}

TEST(ConfigReject, ResponseProxyIsAUnicastAddress) {
    expect_one(receiver_base + "  response_proxy: {address: 230.4.4.1}\n", 13, 29,
               "control.response_proxy.address", "230.4.4.1 is no unicast address");
    expect_one(receiver_base + "  response_proxy: {port: 1044}\n", 13, 3,
               "control.response_proxy.address", "required key is missing");
    expect_one(sender_base + "  response_proxy: {address: 10.0.0.2}\n", 13, 3,
               "control.response_proxy", "receiver");
}

// ---- the SNMP subagent ----

TEST(ConfigAccept, SnmpDefaultsAndSettings) {
    const auto d = load_ok(receiver_base).control.snmp;
    EXPECT_EQ(d.agentx_socket, "/var/agentx/master");
    EXPECT_DOUBLE_EQ(d.poll_interval, 2.0);
    const auto s = load_ok(receiver_base +
                           "  snmp: {agentx_socket: \"tcp:127.0.0.1:705\", poll_interval: 500ms}\n")
                       .control.snmp;
    EXPECT_EQ(s.agentx_socket, "tcp:127.0.0.1:705");
    EXPECT_DOUBLE_EQ(s.poll_interval, 0.5);
}

TEST(ConfigReject, SnmpSocketAndIntervalChecked) {
    expect_one(receiver_base + "  snmp: {agentx_socket: agentx}\n", 13, 25,
               "control.snmp.agentx_socket", "is neither an absolute path nor tcp:HOST:PORT");
    expect_one(receiver_base + "  snmp: {poll_interval: 100ms}\n", 13, 25,
               "control.snmp.poll_interval", "is out of range 500ms..300s");
    expect_one(receiver_base + "  snmp: {community: public}\n", 13, 10, "control.snmp.community",
               "unknown key");
}

// ---- the receiver's session bounds ----

TEST(ConfigAccept, ReceiverSessionBoundsDefaults) {
    const auto r = *load_ok(receiver_base).control.receiver;
    EXPECT_EQ(r.max_sessions, 16u);
    EXPECT_DOUBLE_EQ(r.max_grtt, 15.0);
    EXPECT_EQ(r.max_robust, 50);
    EXPECT_DOUBLE_EQ(r.register_timeout, 60.0);
}

TEST(ConfigAccept, ReceiverSessionBoundsSet) {
    const auto r = *load_ok(receiver_base + "  max_sessions: 8\n"
                                            "  max_grtt: 500ms\n"
                                            "  max_robust: 255\n"
                                            "  register_timeout: 2min\n")
                        .control.receiver;
    EXPECT_EQ(r.max_sessions, 8u);
    EXPECT_DOUBLE_EQ(r.max_grtt, 0.5);
    EXPECT_EQ(r.max_robust, 255);
    EXPECT_DOUBLE_EQ(r.register_timeout, 120.0);
    // The bounds themselves, also written with a unit.
    const auto lo = *load_ok(receiver_base + "  max_sessions: 1\n"
                                             "  max_grtt: 10ms\n"
                                             "  max_robust: 1\n"
                                             "  register_timeout: 1000ms\n")
                         .control.receiver;
    EXPECT_EQ(lo.max_sessions, 1u);
    EXPECT_DOUBLE_EQ(lo.max_grtt, 0.01);
    EXPECT_EQ(lo.max_robust, 1);
    EXPECT_DOUBLE_EQ(lo.register_timeout, 1.0);
    const auto hi =
        *load_ok(with(receiver_base, "control:\n", "  limits: { max_files: 64 }\ncontrol:\n") +
                 "  max_sessions: 64\n"
                 "  max_grtt: 1min\n"
                 "  register_timeout: 3600\n")
             .control.receiver;
    EXPECT_EQ(hi.max_sessions, 64u);
    EXPECT_DOUBLE_EQ(hi.max_grtt, 60.0);
    EXPECT_DOUBLE_EQ(hi.register_timeout, 3600.0);
}

TEST(ConfigReject, ReceiverSessionBoundsOutOfRange) {
    expect_one(receiver_base + "  max_sessions: 0\n", 13, 17, "control.max_sessions",
               "0 is out of range 1..64");
    expect_one(receiver_base + "  max_sessions: 65\n", 13, 17, "control.max_sessions",
               "65 is out of range 1..64");
    expect_one(receiver_base + "  max_sessions: \"8\"\n", 13, 17, "control.max_sessions",
               "expected an integer, got the string '8'");
    expect_one(receiver_base + "  max_grtt: 0.001\n", 13, 13, "control.max_grtt",
               "'0.001' is out of range 10ms..60s");
    expect_one(receiver_base + "  max_grtt: 61s\n", 13, 13, "control.max_grtt",
               "'61s' is out of range 10ms..60s");
    expect_one(receiver_base + "  max_grtt: slow\n", 13, 13, "control.max_grtt",
               "'slow' is not a duration");
    expect_one(receiver_base + "  max_robust: 0\n", 13, 15, "control.max_robust",
               "0 is out of range 1..255");
    expect_one(receiver_base + "  max_robust: 256\n", 13, 15, "control.max_robust",
               "256 is out of range 1..255");
    expect_one(receiver_base + "  register_timeout: 0.5\n", 13, 21, "control.register_timeout",
               "'0.5' is out of range 1s..3600s");
    expect_one(receiver_base + "  register_timeout: 2h\n", 13, 21, "control.register_timeout",
               "'2h' is not a duration");
    expect_one(receiver_base + "  register_timeout: 3601\n", 13, 21, "control.register_timeout",
               "'3601' is out of range 1s..3600s");
}

TEST(ConfigContradiction, MaxSessionsAgainstMaxFiles) {
    const std::string eight_files =
        with(receiver_base, "control:\n", "  limits: { max_files: 8 }\ncontrol:\n");
    expect_one(eight_files + "  max_sessions: 16\n", 14, 17, "control.max_sessions",
               "16 is more than dataplane.limits.max_files (8): every session may hold a file "
               "open");
    // Without max_files, its default (16) holds.
    expect_one(receiver_base + "  max_sessions: 17\n", 13, 17, "control.max_sessions",
               "17 is more than dataplane.limits.max_files (16)");
    // Left out, max_sessions follows a smaller max_files.
    EXPECT_EQ(load_ok(eight_files).control.receiver->max_sessions, 8u);
    EXPECT_EQ(load_ok(eight_files + "  max_sessions: 8\n").control.receiver->max_sessions, 8u);
    EXPECT_EQ(
        load_ok(with(receiver_base, "control:\n", "  limits: { max_files: 4096 }\ncontrol:\n"))
            .control.receiver->max_sessions,
        16u);
    // A bad max_files is reported once, not again against max_sessions.
    expect_one(with(receiver_base, "control:\n", "  limits: { max_files: 0 }\ncontrol:\n") +
                   "  max_sessions: 32\n",
               8, 24, "dataplane.limits.max_files", "0 is out of range 1..4096");
}

TEST(ConfigContradiction, ReceiverSessionBoundsOnASender) {
    for (const std::string key :
         {"max_sessions: 4", "max_grtt: 10", "max_robust: 20", "register_timeout: 30"}) {
        expect_one(sender_base + "  " + key + "\n", 13, 3,
                   "control." + key.substr(0, key.find(':')),
                   "applies only to a receiver (control.role is sender)");
    }
}

// ---- hostile documents: bounded size, node count and nesting ----

TEST(ConfigReject, TooManyNodes) {
    // A flow list of max_yaml_nodes items: the list is one node more.
    std::string list = "[0";
    for (std::size_t i = 1; i < max_yaml_nodes; ++i) {
        list += ",0";
    }
    list += "]";
    // Item i (from 0) stands at column 2 + 2i; the list itself is node 1.
    expect_one(list, 1, 2 + 2 * static_cast<std::uint32_t>(max_yaml_nodes - 1), "",
               "more than 100000 YAML nodes (keys, values, list items)");
    // One item fewer is within the cap: the schema is what fails then.
    list.erase(list.size() - 3, 2);
    expect_one(list, 1, 1, "", "expected a mapping of dataplane, control, got a list");
    // A mapping with too many keys: each key and value is a node.
    std::string map;
    for (std::size_t i = 0; i < max_yaml_nodes / 2; ++i) {
        map += "k" + std::to_string(i) + ": 0\n";
    }
    const auto issues = issues_of(map);
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_THAT(issues[0].message, HasSubstr("more than 100000 YAML nodes"));
    EXPECT_EQ(issues[0].line, max_yaml_nodes / 2) << issues[0].to_string();
}

TEST(ConfigReject, TooDeep) {
    const auto nested = [](std::size_t depth) {
        return std::string(depth, '[') + std::string(depth, ']');
    };
    expect_one(nested(max_yaml_depth + 1), 1, max_yaml_depth + 1, "",
               "lists and mappings nested more than 64 deep");
    expect_one(nested(max_yaml_depth), 1, 1, "", "expected a mapping of dataplane, control");
    // Block mappings as well, inside a real section.
    std::string deep = "dataplane:\n";
    for (std::size_t i = 1; i <= 100; ++i) {
        deep += std::string(2 * i, ' ') + "a" + std::to_string(i) + ":\n";
    }
    const auto issues = issues_of(deep);
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_THAT(issues[0].message, HasSubstr("nested more than 64 deep"));
    EXPECT_EQ(issues[0].line, max_yaml_depth + 1) << issues[0].to_string();
}

// yaml-cpp 0.7 recurses once per level and throws its DeepRecursion (a
// "bad file" at level 2000); the loader must stop far earlier, with its own
// message, and never crash on a file of nothing but openers.
TEST(ConfigReject, MegabyteOfOpenersIsANestingError) {
    for (const char opener : {'[', '{'}) {
        // Unclosed, the openers are also simple keys to yaml-cpp, which
        // places the nodes' marks oddly: only the line is certain.
        const auto issues = issues_of(std::string(max_config_bytes, opener));
        ASSERT_EQ(issues.size(), 1u) << opener;
        EXPECT_EQ(issues[0].line, 1u) << issues[0].to_string();
        EXPECT_THAT(issues[0].message, HasSubstr("nested more than 64 deep"))
            << issues[0].to_string();
    }
    std::string dashes;
    for (std::size_t i = 0; i < 3000; ++i) {
        dashes += "- ";
    }
    expect_one(dashes, 1, 2 * max_yaml_depth + 1, "", "nested more than 64 deep");
}

TEST(ConfigReject, AliasCycleDoesNotHang) {
    expect_one(with(receiver_base, "  destination: /srv/in\n", "  destination: &d [*d]\n"), 12, 16,
               "control.destination", "expected a string, got a list");
}

TEST(ConfigReject, TextOverTheSizeCap) {
    try {
        (void)parse_node_config(std::string(max_config_bytes + 1, '#'), "t.yaml");
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.code(), config_errc::invalid);
        ASSERT_EQ(e.issues().size(), 1u);
        EXPECT_EQ(e.issues()[0].to_string(),
                  "t.yaml: 1048577 bytes, more than the 1048576-byte limit of a config file");
    }
}

// ---- load_node_config: only regular files, of bounded size ----

class ConfigLoadFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/skycast-config-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    // The one issue load_node_config reports for `path`, whose code must
    // be unreadable; its printed form must be "PATH: cannot read: ...".
    static config_issue unreadable(const std::string& path) {
        try {
            (void)load_node_config(path);
        } catch (const config_error& e) {
            EXPECT_EQ(e.code(), config_errc::unreadable) << e.what();
            EXPECT_EQ(e.issues().size(), 1u) << e.what();
            EXPECT_EQ(e.issues().at(0).to_string().rfind(path + ": cannot read: ", 0), 0u)
                << e.what();
            return e.issues().at(0);
        }
        ADD_FAILURE() << path << " loaded";
        return {};
    }

    std::string dir;
};

// Opened without O_NONBLOCK, a FIFO with no writer blocks the open forever
// (a regression hangs until the test's timeout).
TEST_F(ConfigLoadFile, FifoIsRefusedAtOnce) {
    const std::string fifo = dir + "/node.yaml";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    EXPECT_EQ(unreadable(fifo).message, "cannot read: is a FIFO, not a regular file");
}

TEST_F(ConfigLoadFile, DevZeroIsRefused) {
    EXPECT_EQ(unreadable("/dev/zero").message,
              "cannot read: is a character device, not a regular file");
}

TEST_F(ConfigLoadFile, DirectoryIsRefused) {
    EXPECT_EQ(unreadable(dir).message, "cannot read: is a directory, not a regular file");
}

TEST_F(ConfigLoadFile, SocketIsRefused) {
    const std::string path = dir + "/node.sock";
    const int s = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(unreadable(path).message, "cannot read: is a socket, not a regular file");
    close(s);
}

TEST_F(ConfigLoadFile, SymlinkToARegularFileLoads) {
    const std::string target = dir + "/real.yaml";
    std::ofstream(target) << receiver_base;
    std::filesystem::create_symlink(target, dir + "/link.yaml");
    EXPECT_EQ(load_node_config(dir + "/link.yaml").control.role, node_role::receiver);
    std::filesystem::create_symlink("/dev/zero", dir + "/zero.yaml");
    EXPECT_EQ(unreadable(dir + "/zero.yaml").message,
              "cannot read: is a character device, not a regular file");
}

TEST_F(ConfigLoadFile, SizeCap) {
    // Exactly the cap: read and parsed (comments pad a valid file).
    const std::string path = dir + "/node.yaml";
    std::string text = receiver_base;
    while (text.size() < max_config_bytes) {
        text += std::string(std::min<std::size_t>(99, max_config_bytes - text.size() - 1), '#');
        text += "\n";
    }
    ASSERT_EQ(text.size(), max_config_bytes);
    std::ofstream(path, std::ios::binary) << text;
    EXPECT_EQ(load_node_config(path).control.role, node_role::receiver);
    // One byte more: refused before anything is parsed.
    std::ofstream(path, std::ios::binary | std::ios::app) << "#";
    EXPECT_EQ(unreadable(path).message,
              "cannot read: is 1048577 bytes, more than the 1048576-byte (1 MiB) limit of a "
              "config file (a node's file is a few KiB)");
}

// The 50 MB list that drove `skycast check` past 4 GiB: refused by its size
// (a sparse file, so the test writes nothing).
TEST_F(ConfigLoadFile, FiftyMegabytesAreRefusedBySize) {
    const std::string path = dir + "/big.yaml";
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 50 * 1024 * 1024), 0);
    close(fd);
    EXPECT_THAT(unreadable(path).message,
                HasSubstr("is 52428800 bytes, more than the 1048576-byte (1 MiB) limit"));
}

// control/ converts the enums with a cast; these must stay the wire values.
TEST(ConfigWireValues, MatchProtocol) {
    using protocol::hash_type;
    using protocol::key_type;
    using protocol::keyexchange_type;
    using protocol::signature_type;
    auto same = [](auto a, auto b) { return static_cast<int>(a) == static_cast<int>(b); };
    EXPECT_TRUE(same(keyex_kind::none, keyexchange_type::none));
    EXPECT_TRUE(same(keyex_kind::rsa, keyexchange_type::rsa));
    EXPECT_TRUE(same(keyex_kind::ecdh_rsa, keyexchange_type::ecdh_rsa));
    EXPECT_TRUE(same(keyex_kind::ecdh_ecdsa, keyexchange_type::ecdh_ecdsa));
    EXPECT_TRUE(same(cipher_kind::none, key_type::none));
    EXPECT_TRUE(same(cipher_kind::des_ede3_cbc, key_type::des_ede3));
    EXPECT_TRUE(same(cipher_kind::aes128_cbc, key_type::aes128_cbc));
    EXPECT_TRUE(same(cipher_kind::aes256_cbc, key_type::aes256_cbc));
    EXPECT_TRUE(same(cipher_kind::aes128_gcm, key_type::aes128_gcm));
    EXPECT_TRUE(same(cipher_kind::aes256_gcm, key_type::aes256_gcm));
    EXPECT_TRUE(same(cipher_kind::aes128_ccm, key_type::aes128_ccm));
    EXPECT_TRUE(same(cipher_kind::aes256_ccm, key_type::aes256_ccm));
    EXPECT_TRUE(same(hash_kind::sha1, hash_type::sha1));
    EXPECT_TRUE(same(hash_kind::sha256, hash_type::sha256));
    EXPECT_TRUE(same(hash_kind::sha384, hash_type::sha384));
    EXPECT_TRUE(same(hash_kind::sha512, hash_type::sha512));
    EXPECT_TRUE(same(signature_kind::none, signature_type::none));
    EXPECT_TRUE(same(signature_kind::hmac, signature_type::hmac));
    EXPECT_TRUE(same(signature_kind::keyex, signature_type::keyex));
    EXPECT_TRUE(same(signature_kind::authenc, signature_type::authenc));
    EXPECT_EQ(protocol::default_block_size, sender_config{}.block_size);
}

} // namespace
} // namespace skycast::config
