#include "control/engine/receive_file.h"

#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace skycast::control::engine {

std::string temp_path_for(const std::string& dir, std::uint32_t server_id, std::uint32_t group_id,
                          std::uint16_t file_id) {
    char name[64];
    std::snprintf(name, sizeof name, "%.*s%08X-%08X-%u", static_cast<int>(temp_marker.size()),
                  temp_marker.data(), server_id, group_id, static_cast<unsigned>(file_id));
    return dir + "/" + name;
}

std::string parent_directory(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? std::string("/") : path.substr(0, slash);
}

bool create_temp_file(const std::string& temp_path) {
    ::unlink(temp_path.c_str());
    // O_EXCL with O_NOFOLLOW: a link planted under the temp name is not followed.
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    return true;
}

namespace {
// Permission bits a received file may get: never setuid, setgid or sticky.
constexpr mode_t applied_mode_mask = 0777;

void set_mtime(const std::string& path, std::uint32_t mtime, int flags) {
    const struct timespec times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                                      {.tv_sec = static_cast<time_t>(mtime), .tv_nsec = 0}};
    ::utimensat(AT_FDCWD, path.c_str(), times, flags);
}
} // namespace

bool move_into_place(const std::string& temp_path, const std::string& final_path,
                     std::uint32_t mtime, std::optional<std::uint16_t> mode) {
    struct stat st {};
    if (::lstat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        discard_temp_file(temp_path);
        return false;
    }
    if (mode) {
        ::chmod(temp_path.c_str(), static_cast<mode_t>(*mode) & applied_mode_mask);
    }
    set_mtime(temp_path, mtime, 0);
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        discard_temp_file(temp_path);
        return false;
    }
    return true;
}

void discard_temp_file(const std::string& temp_path) {
    ::unlink(temp_path.c_str());
}

bool make_directory(const std::string& final_path, std::uint32_t mtime,
                    std::optional<std::uint16_t> mode) {
    struct stat st {};
    if (::lstat(final_path.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            return false;
        }
    } else if (::mkdir(final_path.c_str(), 0755) != 0) {
        return false;
    }
    if (mode) {
        ::chmod(final_path.c_str(), static_cast<mode_t>(*mode) & applied_mode_mask);
    }
    set_mtime(final_path, mtime, AT_SYMLINK_NOFOLLOW);
    return true;
}

bool make_symlink(const std::string& final_path, const std::string& target) {
    // Build the link aside and rename it over the name: an existing file or
    // link is replaced atomically, and the old target is never written through.
    // A name of its own in the link's directory (not derived from the final
    // name, which may already be NAME_MAX long).
    static std::atomic<std::uint32_t> links_made{0};
    const std::string temp = parent_directory(final_path) + "/" + std::string(temp_marker) +
                             "link-" + std::to_string(::getpid()) + "-" +
                             std::to_string(links_made.fetch_add(1));
    ::unlink(temp.c_str());
    if (::symlink(target.c_str(), temp.c_str()) != 0) {
        return false;
    }
    struct stat st {};
    if (::lstat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        ::unlink(temp.c_str());
        return false;
    }
    if (::rename(temp.c_str(), final_path.c_str()) != 0) {
        ::unlink(temp.c_str());
        return false;
    }
    return true;
}

bool delete_path(const std::string& final_path) {
    struct stat st {};
    if (::lstat(final_path.c_str(), &st) != 0) {
        return true; // already absent: the goal is reached
    }
    if (S_ISDIR(st.st_mode)) {
        std::error_code ec;
        std::filesystem::remove_all(final_path, ec);
        return !ec;
    }
    return ::unlink(final_path.c_str()) == 0;
}

std::uint32_t remove_stale_temp_files(const std::string& destination) {
    std::error_code ec;
    std::vector<std::filesystem::path> stale;
    // recursive_directory_iterator does not follow directory symlinks by default.
    for (auto it = std::filesystem::recursive_directory_iterator(destination, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().filename().string().find(temp_marker) != std::string::npos) {
            stale.push_back(it->path());
        }
    }
    std::uint32_t removed = 0;
    for (const auto& p : stale) {
        if (::unlink(p.c_str()) == 0) {
            ++removed;
        }
    }
    return removed;
}

} // namespace skycast::control::engine
