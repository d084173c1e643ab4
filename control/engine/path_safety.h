#pragma once
// Checks on the names a sender gives in FILEINFO, before the receiver touches
// the file system (spec §2.7, §12 #18): a name is a '/'-separated path
// relative to the destination, without '.', '..' or empty components, and
// no directory on the way to it may be a symlink (that is how a hostile name
// would escape the destination: send "d" as a link to "/etc", then "d/x").

#include <cstdint>
#include <string>
#include <string_view>

namespace skycast::control::engine {

enum class name_problem : std::uint8_t {
    none,
    empty,             // no name at all
    absolute,          // starts with '/'
    dot_component,     // '.', '..' or an empty component ("a//b", trailing '/')
    too_long,          // over the 300-byte FILEINFO limit
    through_symlink,   // a parent directory is a symlink (would escape the destination)
    parent_not_dir,    // a parent exists and is not a directory
    cannot_create_dir, // mkdir of a parent failed
    count
};
std::string_view name(name_problem p);

// Syntax only; touches nothing.
name_problem check_relative_name(std::string_view name);

// Creates the missing parent directories of `name` under `destination`
// (which must exist), refusing to pass through a symlink or a non-directory.
// `name` must have passed check_relative_name().
name_problem prepare_parents(const std::string& destination, std::string_view name);

} // namespace skycast::control::engine
