#include "control/engine/file_list.h"

#include <algorithm>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace skycast::control::engine {

namespace {

namespace fs = std::filesystem;

void add_path(const fs::path& source, const std::string& name, file_list_result& out) {
    struct stat st {};
    if (::lstat(source.c_str(), &st) != 0) {
        out.error = "cannot stat " + source.string();
        return;
    }
    file_entry e;
    e.source_path = source.string();
    e.name = name;
    e.mtime = static_cast<std::uint32_t>(st.st_mtim.tv_sec);
    e.mode = static_cast<std::uint16_t>(st.st_mode & 07777);
    if (S_ISREG(st.st_mode)) {
        e.type = protocol::file_type::regular;
        e.size = static_cast<std::uint64_t>(st.st_size);
        out.entries.push_back(std::move(e));
    } else if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        e.type = protocol::file_type::symlink;
        e.link = fs::read_symlink(source, ec).string();
        if (ec) {
            out.error = "cannot read link " + source.string();
            return;
        }
        out.entries.push_back(std::move(e));
    } else if (S_ISDIR(st.st_mode)) {
        std::error_code ec;
        std::vector<std::string> children;
        for (fs::directory_iterator it(source, ec); !ec && it != fs::directory_iterator();
             it.increment(ec)) {
            children.push_back(it->path().filename().string());
        }
        if (ec) {
            out.error = "cannot list " + source.string();
            return;
        }
        if (children.empty()) {
            e.type = protocol::file_type::directory;
            out.entries.push_back(std::move(e));
            return;
        }
        std::sort(children.begin(), children.end());
        for (const auto& c : children) {
            add_path(source / c, name + "/" + c, out);
            if (!out.error.empty()) {
                return;
            }
        }
    } else {
        ++out.skipped_special;
    }
}

} // namespace

file_list_result build_file_list(const std::vector<std::string>& paths) {
    file_list_result out;
    for (const auto& p : paths) {
        fs::path source(p);
        std::string base = source.lexically_normal().filename().string();
        if (base.empty()) { // "dir/" normalises to a trailing empty filename
            base = source.lexically_normal().parent_path().filename().string();
        }
        add_path(source, base, out);
        if (!out.error.empty()) {
            break;
        }
    }
    return out;
}

} // namespace skycast::control::engine
