// vboardsig: a board's Ctrl-C for the 32-bit unix port that the virtual board runs
// (host_tools/sim/board/vboard_launch.py says why).
//
// A board's UART interrupt only schedules KeyboardInterrupt (mp_sched_keyboard_interrupt): the
// VM raises it at its next check, between bytecodes. The unix port's SIGINT handler raises it
// straight from the signal handler instead (MICROPY_ASYNC_KBD_INTR: a longjmp out of whatever
// C code runs, e.g. with the qstr mutex held). vboardsig.route_interrupts(signum) makes
// `signum` do what a board's UART does; without SA_RESTART, so a blocked read returns EINTR
// and the port raises the interrupt there, as on a board.
//
// vboardsig.hook_imports(hook) returns a builtin to set as builtins.__import__ that calls
// hook(name, globals, locals, fromlist, level) with `globals` the importing code's: the VM
// passes None and resolves a relative import against the globals current when
// __import__ runs, which a hook written in Python (the agent's) has replaced with its own.

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

static mp_obj_t vboardsig_import(size_t n_args, const mp_obj_t *args) {
    mp_obj_t a[5] = { args[0], mp_const_none, mp_const_none, mp_const_none, MP_OBJ_NEW_SMALL_INT(0) };
    for (size_t i = 1; i < n_args; i++) {
        a[i] = args[i];
    }
    a[1] = MP_OBJ_FROM_PTR(mp_globals_get());  // a C function runs in its caller's globals
    return mp_call_function_n_kw(MP_STATE_VM(vboardsig_import_hook), 5, 0, a);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vboardsig_import_obj, 1, 5, vboardsig_import);

static mp_obj_t vboardsig_hook_imports(mp_obj_t hook) {
    MP_STATE_VM(vboardsig_import_hook) = hook;
    return MP_OBJ_FROM_PTR(&vboardsig_import_obj);
}
static MP_DEFINE_CONST_FUN_OBJ_1(vboardsig_hook_imports_obj, vboardsig_hook_imports);

static const mp_rom_map_elem_t vboardsig_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_vboardsig) },
    { MP_ROM_QSTR(MP_QSTR_route_interrupts), MP_ROM_PTR(&vboardsig_route_interrupts_obj) },
    { MP_ROM_QSTR(MP_QSTR_hook_imports), MP_ROM_PTR(&vboardsig_hook_imports_obj) },
};
static MP_DEFINE_CONST_DICT(vboardsig_globals, vboardsig_globals_table);

const mp_obj_module_t vboardsig_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&vboardsig_globals,
};

MP_REGISTER_MODULE(MP_QSTR_vboardsig, vboardsig_module);
MP_REGISTER_ROOT_POINTER(mp_obj_t vboardsig_import_hook);
