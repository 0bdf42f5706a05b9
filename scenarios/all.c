/* The one flat list of scenarios, in scenarios/BEHAVIOUR.md order: add a scenario here, one per
 * line. */
#include "../harness/cell.h"

extern const struct scenario scenario_r1;
extern const struct scenario scenario_r2;
extern const struct scenario scenario_r3;
extern const struct scenario scenario_s1;
extern const struct scenario scenario_s2;
extern const struct scenario scenario_s3;
extern const struct scenario scenario_s4;
extern const struct scenario scenario_s5;
extern const struct scenario scenario_s5b;
extern const struct scenario scenario_s6;
extern const struct scenario scenario_f1;
extern const struct scenario scenario_f2;
extern const struct scenario scenario_f3;
extern const struct scenario scenario_f4;
extern const struct scenario scenario_f5;
extern const struct scenario scenario_f6;
extern const struct scenario scenario_f7;
extern const struct scenario scenario_f8;
extern const struct scenario scenario_n1;
extern const struct scenario scenario_n2;
extern const struct scenario scenario_n3;
extern const struct scenario scenario_n4;
extern const struct scenario scenario_n5;
extern const struct scenario scenario_n6;
extern const struct scenario scenario_n7;
extern const struct scenario scenario_n7b;
extern const struct scenario scenario_l1;
extern const struct scenario scenario_l2;
extern const struct scenario scenario_l3;
extern const struct scenario scenario_l3b;
extern const struct scenario scenario_l4;
extern const struct scenario scenario_l5;
extern const struct scenario scenario_l6;
extern const struct scenario scenario_l7;
extern const struct scenario scenario_l8;
extern const struct scenario scenario_b1;
extern const struct scenario scenario_b2;
extern const struct scenario scenario_b3;
extern const struct scenario scenario_b4;
extern const struct scenario scenario_b5;
extern const struct scenario scenario_m1;
extern const struct scenario scenario_m2;
extern const struct scenario scenario_m3;
extern const struct scenario scenario_m4;
extern const struct scenario scenario_m5;
extern const struct scenario scenario_e1;
extern const struct scenario scenario_e2;
extern const struct scenario scenario_e4;
extern const struct scenario scenario_e5;
extern const struct scenario scenario_e6;
extern const struct scenario scenario_e6b;
extern const struct scenario scenario_e7;
extern const struct scenario scenario_e8;
extern const struct scenario scenario_e8b;
extern const struct scenario scenario_e9;
extern const struct scenario scenario_e10;
extern const struct scenario scenario_e11;
extern const struct scenario scenario_e12;

/* clang-format off */
static const struct scenario *const items[] = {
    &scenario_r1,
    &scenario_r2,
    &scenario_r3,
    &scenario_s1,
    &scenario_s2,
    &scenario_s3,
    &scenario_s4,
    &scenario_s5,
    &scenario_s5b,
    &scenario_s6,
    &scenario_f1,
    &scenario_f2,
    &scenario_f3,
    &scenario_f4,
    &scenario_f5,
    &scenario_f6,
    &scenario_f7,
    &scenario_f8,
    &scenario_n1,
    &scenario_n2,
    &scenario_n3,
    &scenario_n4,
    &scenario_n5,
    &scenario_n6,
    &scenario_n7,
    &scenario_n7b,
    &scenario_l1,
    &scenario_l2,
    &scenario_l3,
    &scenario_l3b,
    &scenario_l4,
    &scenario_l5,
    &scenario_l6,
    &scenario_l7,
    &scenario_l8,
    &scenario_b1,
    &scenario_b2,
    &scenario_b3,
    &scenario_b4,
    &scenario_b5,
    &scenario_m1,
    &scenario_m2,
    &scenario_m3,
    &scenario_m4,
    &scenario_m5,
    &scenario_e1,
    &scenario_e2,
    &scenario_e4,
    &scenario_e5,
    &scenario_e6,
    &scenario_e6b,
    &scenario_e7,
    &scenario_e8,
    &scenario_e8b,
    &scenario_e9,
    &scenario_e10,
    &scenario_e11,
    &scenario_e12,
};
/* clang-format on */

const struct scenario_list all_scenarios = {.items = items,
                                            .count = sizeof items / sizeof items[0]};
