/*
 * iso_fields.c - the ISO 8583:1987 data element definitions and profiles.
 *
 * Types and lengths follow ISO 8583:1987.  Lengths count characters, except
 * for type b, where they count bytes (DE 52, 64, 96, 128: 8 bytes).  Fields
 * 1 and 65 are bitmaps, not values: a message that sets bit 65 is refused.
 *
 * Where Wireshark 4.0's dissector disagrees with the standard (DE 53 as n 8,
 * DE 86-89 as n 15, DE 36 as an) the standard wins; docs/host-interface.md
 * lists these and the link avoids DE 36 and DE 53.
 */
#include <string.h>

#include "iso8583.h"

#define F(t, k, m, n) {ISO_T_##t, ISO_##k, (m), (n)}
#define RES(n) F(ANS, LLLVAR, 999, n)

const struct iso_field_def iso_fields_1987[ISO_FIELDS + 1] = {
    [0] = F(NONE, FIXED, 0, ""),
    [1] = F(NONE, FIXED, 0, "Secondary bitmap"),
    [2] = F(N, LLVAR, 19, "Primary account number"),
    [3] = F(N, FIXED, 6, "Processing code"),
    [4] = F(N, FIXED, 12, "Amount, transaction"),
    [5] = F(N, FIXED, 12, "Amount, settlement"),
    [6] = F(N, FIXED, 12, "Amount, cardholder billing"),
    [7] = F(N, FIXED, 10, "Transmission date and time"),
    [8] = F(N, FIXED, 8, "Amount, cardholder billing fee"),
    [9] = F(N, FIXED, 8, "Conversion rate, settlement"),
    [10] = F(N, FIXED, 8, "Conversion rate, cardholder billing"),
    [11] = F(N, FIXED, 6, "System trace audit number"),
    [12] = F(N, FIXED, 6, "Time, local transaction"),
    [13] = F(N, FIXED, 4, "Date, local transaction"),
    [14] = F(N, FIXED, 4, "Date, expiration"),
    [15] = F(N, FIXED, 4, "Date, settlement"),
    [16] = F(N, FIXED, 4, "Date, conversion"),
    [17] = F(N, FIXED, 4, "Date, capture"),
    [18] = F(N, FIXED, 4, "Merchant type"),
    [19] = F(N, FIXED, 3, "Acquiring institution country code"),
    [20] = F(N, FIXED, 3, "PAN extended, country code"),
    [21] = F(N, FIXED, 3, "Forwarding institution country code"),
    [22] = F(N, FIXED, 3, "Point of service entry mode"),
    [23] = F(N, FIXED, 3, "Card sequence number"),
    [24] = F(N, FIXED, 3, "Network international identifier"),
    [25] = F(N, FIXED, 2, "Point of service condition code"),
    [26] = F(N, FIXED, 2, "Point of service PIN capture code"),
    [27] = F(N, FIXED, 1, "Authorizing identification response length"),
    [28] = F(XN, FIXED, 9, "Amount, transaction fee"),
    [29] = F(XN, FIXED, 9, "Amount, settlement fee"),
    [30] = F(XN, FIXED, 9, "Amount, transaction processing fee"),
    [31] = F(XN, FIXED, 9, "Amount, settlement processing fee"),
    [32] = F(N, LLVAR, 11, "Acquiring institution identification code"),
    [33] = F(N, LLVAR, 11, "Forwarding institution identification code"),
    [34] = F(NS, LLVAR, 28, "Primary account number, extended"),
    [35] = F(Z, LLVAR, 37, "Track 2 data"),
    [36] = F(Z, LLLVAR, 104, "Track 3 data"),
    [37] = F(AN, FIXED, 12, "Retrieval reference number"),
    [38] = F(AN, FIXED, 6, "Authorization identification response"),
    [39] = F(AN, FIXED, 2, "Response code"),
    [40] = F(AN, FIXED, 3, "Service restriction code"),
    [41] = F(ANS, FIXED, 8, "Card acceptor terminal identification"),
    [42] = F(ANS, FIXED, 15, "Card acceptor identification code"),
    [43] = F(ANS, FIXED, 40, "Card acceptor name/location"),
    [44] = F(ANS, LLVAR, 25, "Additional response data"),
    [45] = F(ANS, LLVAR, 76, "Track 1 data"),
    [46] = RES("Additional data - ISO"),
    [47] = RES("Additional data - national"),
    [48] = RES("Additional data - private"),
    [49] = F(AN, FIXED, 3, "Currency code, transaction"),
    [50] = F(AN, FIXED, 3, "Currency code, settlement"),
    [51] = F(AN, FIXED, 3, "Currency code, cardholder billing"),
    [52] = F(B, FIXED, 8, "Personal identification number data"),
    [53] = F(N, FIXED, 16, "Security related control information"),
    [54] = F(AN, LLLVAR, 120, "Additional amounts"),
    [55] = RES("Reserved ISO"),
    [56] = RES("Reserved ISO"),
    [57] = RES("Reserved national"),
    [58] = RES("Reserved national"),
    [59] = RES("Reserved national"),
    [60] = RES("Reserved national"),
    [61] = RES("Reserved private"),
    [62] = RES("Reserved private"),
    [63] = RES("Reserved private"),
    [64] = F(B, FIXED, 8, "Message authentication code"),
    [65] = F(NONE, FIXED, 0, "Tertiary bitmap"),
    [66] = F(N, FIXED, 1, "Settlement code"),
    [67] = F(N, FIXED, 2, "Extended payment code"),
    [68] = F(N, FIXED, 3, "Receiving institution country code"),
    [69] = F(N, FIXED, 3, "Settlement institution country code"),
    [70] = F(N, FIXED, 3, "Network management information code"),
    [71] = F(N, FIXED, 4, "Message number"),
    [72] = F(N, FIXED, 4, "Message number, last"),
    [73] = F(N, FIXED, 6, "Date, action"),
    [74] = F(N, FIXED, 10, "Credits, number"),
    [75] = F(N, FIXED, 10, "Credits, reversal number"),
    [76] = F(N, FIXED, 10, "Debits, number"),
    [77] = F(N, FIXED, 10, "Debits, reversal number"),
    [78] = F(N, FIXED, 10, "Transfer, number"),
    [79] = F(N, FIXED, 10, "Transfer, reversal number"),
    [80] = F(N, FIXED, 10, "Inquiries, number"),
    [81] = F(N, FIXED, 10, "Authorizations, number"),
    [82] = F(N, FIXED, 12, "Credits, processing fee amount"),
    [83] = F(N, FIXED, 12, "Credits, transaction fee amount"),
    [84] = F(N, FIXED, 12, "Debits, processing fee amount"),
    [85] = F(N, FIXED, 12, "Debits, transaction fee amount"),
    [86] = F(N, FIXED, 16, "Credits, amount"),
    [87] = F(N, FIXED, 16, "Credits, reversal amount"),
    [88] = F(N, FIXED, 16, "Debits, amount"),
    [89] = F(N, FIXED, 16, "Debits, reversal amount"),
    [90] = F(N, FIXED, 42, "Original data elements"),
    [91] = F(AN, FIXED, 1, "File update code"),
    [92] = F(AN, FIXED, 2, "File security code"),
    [93] = F(AN, FIXED, 5, "Response indicator"),
    [94] = F(AN, FIXED, 7, "Service indicator"),
    [95] = F(AN, FIXED, 42, "Replacement amounts"),
    [96] = F(B, FIXED, 8, "Message security code"),
    [97] = F(XN, FIXED, 17, "Amount, net settlement"),
    [98] = F(ANS, FIXED, 25, "Payee"),
    [99] = F(N, LLVAR, 11, "Settlement institution identification code"),
    [100] = F(N, LLVAR, 11, "Receiving institution identification code"),
    [101] = F(ANS, LLVAR, 17, "File name"),
    [102] = F(ANS, LLVAR, 28, "Account identification 1"),
    [103] = F(ANS, LLVAR, 28, "Account identification 2"),
    [104] = F(ANS, LLLVAR, 100, "Transaction description"),
    [105] = RES("Reserved ISO"),
    [106] = RES("Reserved ISO"),
    [107] = RES("Reserved ISO"),
    [108] = RES("Reserved ISO"),
    [109] = RES("Reserved ISO"),
    [110] = RES("Reserved ISO"),
    [111] = RES("Reserved ISO"),
    [112] = RES("Reserved national"),
    [113] = RES("Reserved national"),
    [114] = RES("Reserved national"),
    [115] = RES("Reserved national"),
    [116] = RES("Reserved national"),
    [117] = RES("Reserved national"),
    [118] = RES("Reserved national"),
    [119] = RES("Reserved national"),
    [120] = RES("Reserved private"),
    [121] = RES("Reserved private"),
    [122] = RES("Reserved private"),
    [123] = RES("Reserved private"),
    [124] = RES("Reserved private"),
    [125] = RES("Reserved private"),
    [126] = RES("Reserved private"),
    [127] = RES("Reserved private"),
    [128] = F(B, FIXED, 8, "Message authentication code"),
};

const struct iso_profile iso_profile_ascii = {"ascii", ISO_ENC_ASCII,
                                              iso_fields_1987};
const struct iso_profile iso_profile_bcd = {"bcd", ISO_ENC_BCD,
                                            iso_fields_1987};

const struct iso_profile *iso_profile_by_name(const char *name)
{
    if (strcmp(name, "ascii") == 0) {
        return &iso_profile_ascii;
    }
    if (strcmp(name, "bcd") == 0) {
        return &iso_profile_bcd;
    }
    return NULL;
}

const char *iso_field_name(int f)
{
    if (f < 1 || f > ISO_FIELDS) {
        return "";
    }
    return iso_fields_1987[f].name;
}
