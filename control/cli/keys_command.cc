// `skycast keys generate rsa:BITS|ec:CURVE FILE` and `skycast keys fingerprint
// FILE...`: the operator's uftp_keymgt. Each key is described by exactly the
// line uftp_keymgt prints for it ("FILE: RSA, 512 bits, fingerprint: A1:..." /
// "FILE: ECDSA, curve prime256v1, fingerprint: ..."), so host lists can be
// built the same way; the lines go to standard output (uftp_keymgt writes
// them to standard error), problems to standard error.
#include "control/cli/commands.h"
#include "crypto/key_file.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace skycast::cli {
namespace {

struct keys_options {
    std::string spec;
    std::string file;
    std::vector<std::string> files;
};

std::string describe_line(const std::string& file, const crypto::private_key& key) {
    const std::string fp = crypto::format_fingerprint(key.key_fingerprint());
    if (key.kind() == crypto::key_kind::rsa) {
        return file + ": RSA, " + std::to_string(key.bits()) + " bits, fingerprint: " + fp;
    }
    return file + ": ECDSA, curve " + std::string(key.curve()->name) + ", fingerprint: " + fp;
}

int run_generate(const keys_options& o) {
    auto spec = crypto::parse_key_spec(o.spec);
    if (!spec) {
        std::cerr << "skycast keys generate: invalid key type '" << o.spec
                  << "': " << crypto::describe(spec.error())
                  << " (expected rsa:512..2048 or ec:CURVE, e.g. ec:prime256v1)\n";
        return 2;
    }
    auto key = crypto::generate_key(*spec);
    if (!key) {
        std::cerr << "skycast keys generate: cannot generate " << o.spec << ": "
                  << crypto::describe(key.error()) << '\n';
        return 1;
    }
    if (auto e = crypto::write_private_key_file(*key, o.file); e != crypto::crypto_error::ok) {
        std::cerr << "skycast keys generate: " << o.file << ": " << crypto::describe(e) << '\n';
        return 1;
    }
    std::cout << describe_line(o.file, *key) << '\n';
    return 0;
}

int run_fingerprint(const keys_options& o) {
    int status = 0;
    for (const auto& file : o.files) {
        auto key = crypto::load_private_key_file(file);
        if (!key) {
            std::cerr << "skycast keys fingerprint: " << file << ": "
                      << crypto::describe(key.error()) << '\n';
            status = 1;
            continue;
        }
        std::cout << describe_line(file, *key) << '\n';
    }
    return status;
}

} // namespace

void add_keys_command(CLI::App& app) {
    auto options = std::make_shared<keys_options>();
    auto* keys = app.add_subcommand(
        "keys", "Create private key files and print key fingerprints (like uftp_keymgt)");
    keys->require_subcommand(1);

    auto* generate = keys->add_subcommand(
        "generate", "Write a new unencrypted PEM private key (mode 0600, never overwrites)");
    generate
        ->add_option("type", options->spec, "rsa:BITS (512..2048) or ec:CURVE (e.g. ec:prime256v1)")
        ->required();
    generate->add_option("file", options->file, "key file to create")->required();
    generate->callback([options] { set_exit_code(run_generate(*options)); });

    auto* fingerprint = keys->add_subcommand(
        "fingerprint", "Print type, size or curve, and fingerprint of private key files");
    fingerprint->add_option("files", options->files, "PEM private key files")->required();
    fingerprint->callback([options] { set_exit_code(run_fingerprint(*options)); });
}

} // namespace skycast::cli
