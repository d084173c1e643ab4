#pragma once
// The session a proxy gives up first when its table is full: the one heard
// from longest ago. The response, server and client proxies each keep their
// sessions in a map by (group ID, instance) whose values carry `last_heard`.

#include <algorithm>

namespace skycast::control::engine {

template <class Sessions>
auto least_recently_heard(Sessions& sessions) {
    return std::min_element(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) {
        return a.second.last_heard < b.second.last_heard;
    });
}

} // namespace skycast::control::engine
