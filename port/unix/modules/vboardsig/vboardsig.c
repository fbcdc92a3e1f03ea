// vboardsig: a board's Ctrl-C for the 32-bit unix port that the virtual board runs
// (host_tools/sim/vboard_launch.py says why).
//
// A board's UART interrupt only schedules KeyboardInterrupt (mp_sched_keyboard_interrupt): the
// VM raises it at its next check, between bytecodes. The unix port's SIGINT handler raises it
// straight from the signal handler instead (MICROPY_ASYNC_KBD_INTR: a longjmp out of whatever
// C code runs, e.g. with the qstr mutex held). vboardsig.route_interrupts(signum) makes
// `signum` do what a board's UART does; without SA_RESTART, so a blocked read returns EINTR
// and the port raises the interrupt there, as on a board.

#include <errno.h>
#include <signal.h>

#include "py/runtime.h"

static void vboardsig_handler(int signum) {
    (void)signum;
    mp_sched_keyboard_interrupt();  // only sets the pending exception: safe in a handler
}

static mp_obj_t vboardsig_route_interrupts(mp_obj_t signum_in) {
    struct sigaction sa;
    sa.sa_flags = 0;
    sa.sa_handler = vboardsig_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(mp_obj_get_int(signum_in), &sa, NULL) != 0) {
        mp_raise_OSError(errno);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(vboardsig_route_interrupts_obj, vboardsig_route_interrupts);

static const mp_rom_map_elem_t vboardsig_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_vboardsig) },
    { MP_ROM_QSTR(MP_QSTR_route_interrupts), MP_ROM_PTR(&vboardsig_route_interrupts_obj) },
};
static MP_DEFINE_CONST_DICT(vboardsig_globals, vboardsig_globals_table);

const mp_obj_module_t vboardsig_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&vboardsig_globals,
};

MP_REGISTER_MODULE(MP_QSTR_vboardsig, vboardsig_module);
