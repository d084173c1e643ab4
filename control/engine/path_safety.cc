#include "control/engine/path_safety.h"

#include "protocol/constants.h"

#include <cerrno>
#include <sys/stat.h>

namespace skycast::control::engine {

std::string_view name(name_problem p) {
    switch (p) {
    case name_problem::none:
        return "none";
    case name_problem::empty:
        return "empty name";
    case name_problem::absolute:
        return "absolute path";
    case name_problem::dot_component:
        return "'.', '..' or empty path component";
    case name_problem::too_long:
        return "name too long";
    case name_problem::through_symlink:
        return "path goes through a symlink";
    case name_problem::parent_not_dir:
        return "parent is not a directory";
    case name_problem::cannot_create_dir:
        return "cannot create parent directory";
    case name_problem::count:
        break;
    }
    return "unknown";
}

name_problem check_relative_name(std::string_view name) {
    if (name.empty()) {
        return name_problem::empty;
    }
    if (name.size() > protocol::max_path_bytes) {
        return name_problem::too_long;
    }
    if (name.front() == '/') {
        return name_problem::absolute;
    }
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t slash = name.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? name.size() : slash;
        const std::string_view part = name.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") {
            return name_problem::dot_component;
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return name_problem::none;
}

name_problem prepare_parents(const std::string& destination, std::string_view name) {
    std::string path = destination;
    std::size_t start = 0;
    for (std::size_t slash = name.find('/'); slash != std::string_view::npos;
         slash = name.find('/', start)) {
        path += '/';
        path += name.substr(start, slash - start);
        start = slash + 1;
        struct stat st {};
        // lstat, not stat: a symlink must be seen as one, never followed.
        if (::lstat(path.c_str(), &st) == 0) {
            if (S_ISLNK(st.st_mode)) {
                return name_problem::through_symlink;
            }
            if (!S_ISDIR(st.st_mode)) {
                return name_problem::parent_not_dir;
            }
            continue;
        }
        if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
            return name_problem::cannot_create_dir;
        }
        // Re-check after creating: another writer may have raced a link in.
        if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            return name_problem::through_symlink;
        }
    }
    return name_problem::none;
}

} // namespace skycast::control::engine
