#include <gtest/gtest.h>

#include "protocol/codec.h"

using namespace skycast::protocol;

TEST(protocol_smoke, done_round_trip) {
    std::uint8_t buf[64];
    datagram d{{1, 2, 3, 4, 5, 6}, done_msg{7, 8, {0xc0000202}}};
    auto n = encode(d, buf);
    ASSERT_TRUE(n.ok());
    datagram back;
    ASSERT_EQ(decode(std::span(buf, *n), back), wire_error::ok);
    EXPECT_EQ(back, d);
}
