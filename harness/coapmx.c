#include "main.h"

int main(int argc, char **argv)
{
    return coapmx_main(argc, argv, &coapmx_registry);
}
