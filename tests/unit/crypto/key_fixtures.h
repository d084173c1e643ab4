#pragma once
// Key files made by the stock `uftp_keymgt -g` (4.10.2), with the lines it printed for
// them, plus signatures made outside crypto/: RSA by `openssl dgst -sha256 -sign`, ECDSA by
// Python's `cryptography` (DER r,s re-laid out as UFTP's rlen,slen,r,s,padding).
// Message signed: "sign me".
// clang-format off
#include <cstdint>
#include <string_view>

namespace fixtures {

inline constexpr std::string_view rsa_512_pem = R"PEM(-----BEGIN RSA PRIVATE KEY-----
MIIBOgIBAAJBAK7hOtSf2082c1mu22emGhksyO57df4DTnEfMpkKnKNvm/hItta7
eg1iO4KguZRbjlQwxBSL12tbYeOpb8vIV3ECAwEAAQJAcyRcZc5yyS7it/PHBfF5
UYYJLewf/gUTSqvt1pIEHB6yzol0/YnHBgsU0lo0RPmGHuqzK17KSVjoike60s8o
IQIhAONB2vYYFjm0q0JH96lZGywUlptKzQRswnnhxM+P3lCNAiEAxP9+1I3otDD5
7Qjg0OvrX0qSrvm977JRdtmhrHnjY3UCIE6jfTdnQlmZkSGQcbziHqr0POFj0unT
EMDIRShl6lIJAiAoeXn8f9+Uzg87dTyDkEU+wdqbWrJ8gf2c1qASCMUAVQIhAIpe
BrybbtHFR/Xxbd+ATZLUkOcOzC2xNLNg+fYUteAy
-----END RSA PRIVATE KEY-----
)PEM";
inline constexpr std::string_view rsa_512_keymgt =
    "rsa_512.pem: RSA, 512 bits, fingerprint: "
    "13:62:6C:9A:AF:7B:78:C1:57:60:25:B0:00:F0:28:F9:FC:68:02:E6";
inline constexpr std::string_view rsa_1024_pem = R"PEM(-----BEGIN RSA PRIVATE KEY-----
MIICXQIBAAKBgQDGQGJWQSujHZxuvpzBNJvC4249BCEgFKDZQRNHu7dyn8cBUyXq
7U+BME5UjYHw8emqCwf76JydDf05Ro/WccJe79lcEo4jXZvt1uLXeu7lvgemKbg/
qKgOvH7qQmuBD6cKn0za4ETmFonWufn2Nn7ed24KaPO32lCd5SJlYjdguQIDAQAB
AoGBAK3u6te2EazoW8ilny27FDUmCB+sMcvNjVlOSLYUsVv1Zkl5Q7kbPzeew/pW
tHxKIbE4QGb4q/72uQW5LJT99YJ9OtyRcR3+Rn3gyHSApBX9OGJ4crusQ0aaOlYQ
Dr5rnUEXdy04RFv1YYy+8i9e4MUOGscUswswIEcaj+xJggChAkEA8VGoiMviDPU0
r8TpdKRaZFHa2b0tOiewigullf2n70IqPq5wCDNqwhXfphrmYuDd/OuowyBYj7+5
MBH3IQgC9QJBANJP/FvrRcLcOMTIAw1wYuZQIY8pr/WiYUDqiTO5DgTDrBze+Rt4
MiueUKyQczl+qGPJDWvCAjbvAFEfZUgBNDUCQCIsn0JoJSYSn5h4uVr0X3yvft+x
A7OlpUGXbqa0GlEuvI7N4z22EltT/60lSBUepTFJKkgfz4rj6tTc5nN+D/UCQHVi
ZYVcfPR0/E6BIIsItnq8MO76IpckScn03h17ZWKtYExA+6MkZERKOdcHTPjDQ/Nm
DVKe16OXpIKi1mHpIh0CQQDH+haEePmCL5kYXEK0OivPvnNJkK/JfAatZciXTn4c
JyzG6VvQgD6WlTlbbd+CTYuzO4iD2ONzRaQT6dNHJ4JZ
-----END RSA PRIVATE KEY-----
)PEM";
inline constexpr std::string_view rsa_1024_keymgt =
    "rsa_1024.pem: RSA, 1024 bits, fingerprint: "
    "3B:DA:33:E5:DE:D8:9B:10:51:52:A5:A6:09:08:2F:C4:BB:3C:7A:26";
inline constexpr std::string_view ec_prime256v1_pem = R"PEM(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIM8lzUL/roS52DbmvASsygzngE5Og9l5NTR/ND9AZ4L2oAoGCCqGSM49
AwEHoUQDQgAESCm95xZ6Iwn5G/J+Lz+ZEDTJN2Nw1G9nH7IAc85t1oy2HsiNzkMZ
3hM2NKrFGxpoxDi9XELucc14iEXpEDGXKg==
-----END EC PRIVATE KEY-----
)PEM";
inline constexpr std::string_view ec_prime256v1_keymgt =
    "ec_prime256v1.pem: ECDSA, curve prime256v1, fingerprint: "
    "4A:0D:65:3B:CE:3B:C9:62:57:03:C6:E0:05:76:66:2C:EC:06:C1:0A";
inline constexpr std::string_view ec_secp384r1_pem = R"PEM(-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDBQanFxdgwrsO6V5j8mu1rMFXRDf8j/DNuKxwzcS6+BDlnHkh29FjUF
gIGwaZsB59egBwYFK4EEACKhZANiAAQ0sS4ukddW9guIFs96zs0GBPG2qDxxYeSa
IdDj52FPMDxCfH/zqB4B8faWYrEqAuLZ8ZbvDNIYaQnUQeNvheg5tfNqxGhQicR6
Q6pmxF+zR3c0gurRdy1iSPM3zK0uyjo=
-----END EC PRIVATE KEY-----
)PEM";
inline constexpr std::string_view ec_secp384r1_keymgt =
    "ec_secp384r1.pem: ECDSA, curve secp384r1, fingerprint: "
    "17:90:3F:67:0D:07:B6:57:ED:E5:C3:EA:8A:3C:33:C4:2B:5C:88:11";
inline constexpr std::string_view ec_secp521r1_pem = R"PEM(-----BEGIN EC PRIVATE KEY-----
MIHcAgEBBEIAo9y9mcly3eMYBNWogHz4CIlEMcWjBDqzogAO3GrkOkYb5vbaMg3h
NVF66nzLfSC1IyU8vRXpkYBeMPCLsuJ3qTKgBwYFK4EEACOhgYkDgYYABABbuIGl
pYEHWpnELAThe5Ied3CogP5LYmq10M9X+2J4uAaqD/D9J2LG3Twmi7usIvjHhcz4
mMfRmW0lXbcRn9rTpgHwsOkYliqHRSoTsYNwMW1OVcf/Vl0z+Fm6zpVqZQbrd/um
iZPg+Kmn9ahFgcN7rxN8y2/l1nNvz/JTAGAoLSDHPw==
-----END EC PRIVATE KEY-----
)PEM";
inline constexpr std::string_view ec_secp521r1_keymgt =
    "ec_secp521r1.pem: ECDSA, curve secp521r1, fingerprint: "
    "96:6A:34:4C:AB:CD:BB:47:F3:0A:09:41:63:6B:56:48:2E:60:41:37";
inline constexpr std::string_view ec_sect163k1_pem = R"PEM(-----BEGIN EC PRIVATE KEY-----
MFMCAQEEFQHfxlNo58dQSTMlQJFqYiLrtJY24KAHBgUrgQQAAaEuAywABAfsSEk9
Wkv8+A/gftKsIh+TtLwKvAP073rYzKg/YM3JLM9c4+qb7q5O4g==
-----END EC PRIVATE KEY-----
)PEM";
inline constexpr std::string_view ec_sect163k1_keymgt =
    "ec_sect163k1.pem: ECDSA, curve sect163k1, fingerprint: "
    "62:10:5E:54:91:EB:32:1F:50:0D:BA:FF:98:A0:3A:E9:0C:81:86:FB";
inline constexpr std::string_view ed_pem = R"PEM(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDT26n9s9sRhmOXSvFbdjes+sUZCFIiRc2DKtj7PP/6o
-----END PRIVATE KEY-----
)PEM";
inline constexpr std::string_view enc_pem = R"PEM(-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIr06K4zL6hfICAggA
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAECBBBslvG9iF4VW5n9t2X1OfCfBIIB
YGiYAUZTa9DKOFvmAck3+S2VPeP0HZXmWj6vYubqFXdw7fP08g3lVTKN6vPhDSxe
FlZ08usJUoWphUvs9d5FreHlnEs0f4U7VvvDMAoq8WeOplFtyRHkfAK1wndyDu1X
qqRwMggnVALmca4yrjgwZ34LMN7EZFQngemAgRB/slgqVWCgVB68ly5h0m33aLBh
nF4Lx7asljYS24kP258U5imKQET1xr8EDjqbh9riHOsGfTMLLp4VMDtk4DV3TZij
0JF9TijKNfq2grJ/toITtGVr7rfR0cWGvMjociU35QzsIpBYgKFaE0wEyK3u4aNA
sbNNH/qS3bW+lGTBPAAECpLxI241e3AkYx7vvdH9pBKoWki+8JF8dWhgHiQBEC6r
VuDOO58viPoQEGn2xM/y4q+67IAXpZ5BYfhgwPskVb4cR5vUY8tzZ2VVYl9alH0C
D/kK/z1PJDOTi5BDFfdlcRE=
-----END ENCRYPTED PRIVATE KEY-----
)PEM";
inline constexpr std::string_view big_pem = R"PEM(-----BEGIN PRIVATE KEY-----
MIIJRAIBADANBgkqhkiG9w0BAQEFAASCCS4wggkqAgEAAoICAQCq2npmQ4HS4Foe
G8vcFCGFegFmjn/WtDXtRU0pp7K+pE49/RuR1Ii/ynqvNevFVlJQZwfSMhZE3NvH
iH/lDFeXGke7KEAXFz8KSxvnc1AR2pl9Bu/k3Nrzd1Xaic+q/QbZzSa0ePRMhjE0
Tjz6ZC5RixZ5CkAoP+NeS2o+RbySntuqD0v0XQvUR73A5M861JZm8LiA86zPn4Ei
NDmt7lC8sNHBlhxVZ4U7MMZWKF1NPbvHW3mmvY5g3NbxdJIrIAKfYb3y2VzUrofY
NQm9vAVGx6cE2XM+EjRc5zu56UZlSRbfQm3g4mS0s4zhTil0o3H+bnXGF57SsLqZ
/mWrDGtJzx9PYhVuYiHDlGVAzM/cdQfxYISvEpPGf7WIgfRv76YwPFYEAS5ZfLl/
0lfS73qSbmsKXBUkflVhcd+HG9xR9YcGTlr5KqTqi+Qp6Q5ZSews6bVEDijST6xG
Bs3fLfFREq3hcORU+r82NruKHWBBpBuO0kD+DSLb6GarJ6WX90ceB3H9EHvRlu5b
16YfHnXgTQNCtsgkb050CaT2V59vLmUfe62JrJPMp54hOGV0xCW+IPrpAUnk1ods
na4y1flcjIWoJcSwX8FAU3meFlA4Pq5kBqWz7GYROthCUxPuOmTtHxMHSz4BD20k
KqJ8NWGjlGY+6IgjJhg20uLL1uF2EwIDAQABAoICABitXWrM4FZO16VWpXTAUZvU
+e56sZCXedyEmyG475J6lTR94jqyJHLzMhIsKxrXHiTaeiDhjCGJIZNp2J3YJlnp
o/0D0hyjsRQcXMeVemCsdBPracCNfRsXnEZoNkmqVJAmggB6IesK94C9tjACQpsT
iFJA6UWxqKD+KovGXczIS3j+JEiDcfRzd5RXWBkqtciLh1KqH3E48W65IAWfu3iY
NMu4Z0JB+qvdyR/jokpIRYmEtwb0L7mM3DIxgJ/gS+YCY5b3zzaG45HBDgr3ZRm1
N59LMHUsLZ+njxMJ/wQdG5kb9VaQdzQ5uiTxZFUiUGeL7nsx/oYhnD98JOog7T6W
KAkZ1vqlYKYsM2L6ETy15KwhNa847l/nx/ZxDfVxhSlCd3iuR2uaV9UMcCDRTAKy
lu4JPM8BD6LT/gakVkSalB+l2K9UikH2lgtd7K+cCdS7Rye+5oP64ZHRaYRYQtZs
85to3JsAADF6PnbPEnMxjhkfXU3tUUPX0kbqiGd+mYuCF3yVB8VtoVs10nK5k/up
o9SDsuzNM6YJ+zHkBULB3N1VPl0aAiFL7Spe2u/yssHnBqIfIno+io62M46KnIFk
QK1Jctn3EhfFlbglFyDTueiJnKwUf1krOj+dp7dNoL9T2JGfpI52bns6I05zLlse
fcBJGwhOV0MU7WEDRa1pAoIBAQDhtVBWPqjtnxybtz1C/2Q0nldHIIICwPjXUr41
s8uBAuy7LvMmvJD9HiD1JFMGVFwKWyPojwGYQ0YdhpZBpHhCkwbgqTTEguWRQmsK
ScNtcsoP4QXcerSHdglqX04/NS/Ak2S4A36+L/aZ18c2hZL/+kb42jXmPYJLhz2L
FRmL40UmnJaysD/gLBsrV9MdMgWk0Dj47DkeoTo6R+hgAeOfMWCR8BUgnWw2pYSC
JBlgrWgy+uEiUgpaKqBorGths5ntQDLqfBYs0WQ0kdbium/mZLMShJh+Zz5off3f
Q6YCA9VqQHgZFEcMOjF3YpwLVeGrt/nRPK97BAg2jKYIhnR7AoIBAQDByIKjyXz/
VgSpn0YyEj1BNX/1j+wskbvfJ6RgVfngMgG4L8rx9igGyWmX7joXsE/AY5hulohI
ly2pir6RDkxDpjc9i8PDB2FhmXwWvEAOWcAI5PE+/hhV21bADLULC7HnC+C5nfkF
qII+VraPNq5MZflGzIwkH4XyFAFqZ+9l+bwRSMEJnkQbg9C9UTB8f1BzfC0URK+C
8xELtQ+u6lONFbiN/F6pfSeIiXya2ct9SaGhBEAO1skgi/vVrSZfLlElGGeu7oYE
StsURu7XLyjST7cNOJg/5S9qfERIoeNe2VDz6noF9nJ3W3O9jXgFK9sXcu0tYbB9
loH78wor4A1JAoIBAQCLjppv2SqGUl1UAsbESDljN4xrlDQPE9ZI/QZTGip4SKCr
VGpPx0Q23YwvRxh2z25hkNzxDItF5ELUOsVpLRKWx2X3P2g7IVxkppacs+M8Jz+8
9bu0CcLaByfnN6qf9njiL8CU7sRNQEbP9NVeZtTvpYaAlBvDksCfhq2M86zqC8pU
B3o+XjAAogTildkZMja/I2g2sYjX4YSpSJDr2/8sDVHSqonFstCYMVtvRHbUiiPl
ca4GlIeGHNk2H3X94RkJ0yooRjVH3OiCgLJHWlOaNyVqC8ZmUdwKq+xvQdrBYDFz
Ew2vJBSSAOFZGgW2FJIGpSi4MTenbmTNpcV7e/dFAoIBAQCUbxpiizwL+b+ojjAe
uonhITHaz1uA6ECYNq1afYDhkmxuwW0a2gre5/jSP9CPxKXSIHfqfbP2ppZ7f6Np
SSJxzygRJLXW9hhJwl+iqqAGXgkSxwtjzQ6m9VQF17X1uAeViyugArl09BaP2awN
Fz17l8DR0mymXt8jBt/uuZ5O5nSAaNI0o95XlSiXW1Fgi8T8MOn21IX8MGOmLBLP
UP6e2zx6xg1clllp5KZllt6gIX6E79SBiVSWcaN9kRwLXFcbqw4AmQRe1VfquErK
2XzTW+xDXE6C4vLnBjjnydl4Fc5EiB7f4l7bvllxoKOGkolH9OhoEqQ2DsuSSiBI
a17BAoIBAQCzSlDSVEA+Y+HDxD6bElnZKzpBXDGQ6B2ukpzdPbezXefgM/FEAzmZ
gKaavGmvYdlsZqbA6xBL7TGa84InZkwqd4kYt6IArywY9mLcjpx5IRph9sH+61Tj
i5A7aekSLSALOZpH2ai5tgYkpZVEOQ/LCoN7qU/vUEJbJTY6lrqZqJridH6dZB3j
eHHtc8KJlStCTZVSv5fun3mYYCGocG9JoLAcEBNJCPUaYRO6HSuEOavkoEqCssP3
kBvyAsbBcU0+Yg1OXPRCobYoF/qEZolBeQ+PS9DKZ6a4Yvfy/t4Gus1uYyM+Htv2
YCPdqAdrDIaCUXyVLaH7XcObYkKSqc/s
-----END PRIVATE KEY-----
)PEM";
inline constexpr std::string_view rsa_512_pkcs8_pem = R"PEM(-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAruE61J/bTzZzWa7b
Z6YaGSzI7nt1/gNOcR8ymQqco2+b+Ei21rt6DWI7gqC5lFuOVDDEFIvXa1th46lv
y8hXcQIDAQABAkBzJFxlznLJLuK388cF8XlRhgkt7B/+BRNKq+3WkgQcHrLOiXT9
iccGCxTSWjRE+YYe6rMrXspJWOiKR7rSzyghAiEA40Ha9hgWObSrQkf3qVkbLBSW
m0rNBGzCeeHEz4/eUI0CIQDE/37Ujei0MPntCODQ6+tfSpKu+b3vslF22aGseeNj
dQIgTqN9N2dCWZmRIZBxvOIeqvQ84WPS6dMQwMhFKGXqUgkCICh5efx/35TODzt1
PIOQRT7B2ptasnyB/ZzWoBIIxQBVAiEAil4GvJtu0cVH9fFt34BNktSQ5w7MLbE0
s2D59hS14DI=
-----END PRIVATE KEY-----
)PEM";

inline constexpr std::uint8_t rsa_512_sig_sha256[] = {
    0x3c, 0x41, 0x3a, 0xa1, 0x1e, 0x00, 0x9f, 0x29, 0x63, 0x11, 0x43, 0xab, 0x06, 0x83, 0x2e, 0xc9,
    0x0f, 0x20, 0x4c, 0xc9, 0x7d, 0x9e, 0xab, 0x7a, 0x95, 0xef, 0x7f, 0x5c, 0xa6, 0x94, 0xc8, 0x9f,
    0x82, 0xb6, 0xae, 0xb5, 0x7a, 0xa8, 0x07, 0xef, 0x9a, 0x2a, 0xc6, 0xe0, 0x0b, 0x36, 0x54, 0x54,
    0x0f, 0x3e, 0xe6, 0xeb, 0x95, 0xf1, 0x12, 0xa0, 0x49, 0xe8, 0xa8, 0xd8, 0x40, 0xeb, 0x1d, 0xc7};
inline constexpr std::uint8_t ec_prime256v1_sig[] = {
    0x00, 0x20, 0x00, 0x20, 0x11, 0x14, 0x73, 0x92, 0x9f, 0x38, 0x2e, 0x7b, 0xe4, 0xea,
    0xa4, 0xa4, 0x80, 0xca, 0xec, 0x37, 0x11, 0xa0, 0x9e, 0x98, 0x53, 0x4e, 0x1f, 0x2b,
    0xe5, 0x25, 0x68, 0x75, 0x64, 0x61, 0x64, 0xba, 0xa5, 0x4e, 0xcd, 0x66, 0x06, 0xa8,
    0x00, 0xe4, 0x0f, 0xd7, 0x44, 0xab, 0x34, 0x76, 0xca, 0x8c, 0xfa, 0xc3, 0x90, 0xcf,
    0xaf, 0x1d, 0xf8, 0xeb, 0xfd, 0x04, 0x39, 0xd4, 0xb2, 0xdc, 0xe2, 0x82};
inline constexpr std::uint8_t ec_secp384r1_sig[] = {
    0x00, 0x30, 0x00, 0x30, 0x6a, 0xad, 0x7f, 0x48, 0x72, 0x8e, 0x1b, 0x57, 0xe1, 0x6d, 0x2b,
    0xae, 0xb0, 0xd9, 0xbc, 0x47, 0x84, 0x1e, 0x42, 0xf9, 0x6e, 0x46, 0xf5, 0x9a, 0x14, 0x8d,
    0xa7, 0x8d, 0x57, 0xdd, 0xf1, 0xea, 0x5a, 0xd5, 0x80, 0x20, 0x52, 0x69, 0xf5, 0x14, 0x82,
    0x7e, 0xa2, 0xa3, 0x85, 0xcf, 0x5e, 0x37, 0x77, 0xaf, 0x41, 0x6f, 0x19, 0xc8, 0x20, 0x07,
    0xa3, 0xd4, 0x99, 0x68, 0xd9, 0x7b, 0xe9, 0x73, 0xb0, 0x63, 0x8a, 0xc2, 0x77, 0xf3, 0x97,
    0x7c, 0xfc, 0xea, 0x2a, 0xb2, 0xf9, 0xb8, 0x48, 0x0f, 0x5f, 0xa3, 0x6a, 0xcd, 0xb5, 0x30,
    0x3d, 0xd2, 0x8a, 0xda, 0x23, 0x66, 0xc3, 0xff, 0x82, 0x62};
inline constexpr std::uint8_t ec_secp521r1_sig[] = {
    0x00, 0x41, 0x00, 0x42, 0x2f, 0x0e, 0x19, 0xa7, 0x9c, 0x8b, 0x49, 0x20, 0x08, 0x48, 0xec, 0xe0,
    0x20, 0xa0, 0x3a, 0xb5, 0xf6, 0x2c, 0xf8, 0x39, 0xaf, 0xc1, 0x2f, 0x8f, 0xf7, 0x00, 0x0d, 0x5e,
    0x41, 0x94, 0xa6, 0xd4, 0xee, 0x24, 0xd3, 0xf0, 0x47, 0x8c, 0x9a, 0x29, 0x72, 0xc1, 0x1f, 0xc6,
    0xf4, 0x2e, 0xf2, 0xee, 0x25, 0x38, 0xc0, 0xe3, 0x7b, 0xf5, 0x02, 0x07, 0xf3, 0x36, 0xaf, 0xcd,
    0x19, 0xe9, 0xfe, 0x43, 0x7c, 0x01, 0x3b, 0x32, 0x8e, 0xff, 0xf7, 0x41, 0x97, 0xe2, 0xf7, 0x70,
    0xf4, 0x3b, 0x11, 0x82, 0x6e, 0x86, 0x07, 0x8e, 0x3a, 0xc3, 0xf2, 0xed, 0x31, 0xd9, 0x9d, 0x60,
    0x00, 0xef, 0x62, 0x8d, 0x6c, 0xf8, 0x9f, 0x93, 0xd4, 0x7d, 0x83, 0xb3, 0x27, 0xd9, 0x5f, 0x01,
    0x2f, 0x99, 0xf7, 0xc8, 0xef, 0xae, 0x90, 0x98, 0x67, 0x60, 0x6e, 0x3c, 0x02, 0x73, 0xe5, 0xca,
    0xc8, 0xce, 0x8f, 0x1b, 0x65, 0x85, 0x1b, 0x00};

} // namespace fixtures
// clang-format on
