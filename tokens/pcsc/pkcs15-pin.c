/*
 * A PIN as the card compares it (VERIFY, CHANGE REFERENCE DATA, RESET
 * RETRY COUNTER data), from the AODF's PinAttributes: its type (BCD, ASCII
 * digits, UTF-8), its length rules, and padding to storedLength with
 * padChar when the PIN needs padding. Lengths are in bytes of the PIN as
 * given (digits for BCD and ASCII); storedLength is in bytes on the card.
 */
#include "pkcs15-int.h"

#include <string.h>

#define PIN_MAX 64

static bool all_digits(const uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (in[i] < '0' || in[i] > '9')
            return false;
    return true;
}

int dmsc_p15_pin_format(const dmsc_p15_pin *pin, const uint8_t *in, size_t len, uint8_t out[64], size_t *out_len)
{
    bool pad = pin != NULL && (pin->flags & (1u << 5)); /* needs-padding */
    uint8_t pad_char = pin != NULL && pin->has_pad ? pin->pad_char : 0xFF;
    size_t n;

    if (pin == NULL || out == NULL || out_len == NULL || (in == NULL && len > 0))
        return -1;
    if (len > PIN_MAX || len < pin->min_len || (pin->max_len > 0 && len > pin->max_len) ||
        pin->stored_len > PIN_MAX)
        return -1;
    switch (pin->type) {
    case DMSC_P15_PIN_BCD:
        if (!all_digits(in, len))
            return -1;
        /* Two digits a byte, the first in the high nibble; an odd last
         * digit gets the padChar's low nibble (F without one). */
        n = (len + 1) / 2;
        memset(out, 0, n);
        for (size_t i = 0; i < len; i++)
            out[i / 2] |= (uint8_t)((in[i] - '0') << (i % 2 ? 0 : 4));
        if (len % 2)
            out[n - 1] |= pad_char & 0x0F;
        break;
    case DMSC_P15_PIN_ASCII_NUMERIC:
        if (!all_digits(in, len))
            return -1;
        memcpy(out, in, len);
        n = len;
        break;
    case DMSC_P15_PIN_UTF8:
        if (!p15_utf8_ok(in, len))
            return -1;
        memcpy(out, in, len);
        /* Not case-sensitive: presented in upper case (ASCII letters). */
        if (!(pin->flags & 1u))
            for (size_t i = 0; i < len; i++)
                if (out[i] >= 'a' && out[i] <= 'z')
                    out[i] = (uint8_t)(out[i] - 'a' + 'A');
        n = len;
        break;
    default:
        return -1;
    }
    if (pad) {
        if (n > pin->stored_len) {
            memset(out, 0, n);
            return -1;
        }
        memset(out + n, pad_char, pin->stored_len - n);
        n = pin->stored_len;
    }
    *out_len = n;
    return 0;
}
